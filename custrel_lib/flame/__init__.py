""" "Is the flame still burning?": buy-till-you-die models (BG/NBD, Gamma-Gamma) and the analysis built on them."""
