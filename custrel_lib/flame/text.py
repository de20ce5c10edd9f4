"""Words of the flame section (BG/NBD, Gamma-Gamma) in French and English."""

from __future__ import annotations

TEXT = {
    "population": {"fr": "Clients sans contrat", "en": "Customers without contract"},
    "params": {
        "fr": "BG/NBD ajusté sur {n} clients sans contrat ({k} avec au moins un achat répété) : r = {r}, α = {alpha}, a = {a}, b = {b}.",
        "en": "BG/NBD fitted on {n} customers without contract ({k} with a repeat purchase): r = {r}, α = {alpha}, a = {a}, b = {b}.",
    },
    "no_dropout": {
        "fr": "Le modèle ne voit presque aucun client partir : P(en vie) est d'au moins {p} pour chacun des {k} clients ayant racheté (probabilité moyenne d'abandon après un achat a / (a + b) = {drop}). Sur {days} jours d'historique, P(en vie) ne distingue donc personne ; un historique plus long le rendrait informatif.",
        "en": "The model sees almost no customer leave: P(alive) is at least {p} for each of the {k} customers who bought again (mean probability of dropping out after a purchase a / (a + b) = {drop}). Over {days} days of history, P(alive) therefore tells no one apart; a longer history would make it informative.",
    },
    "same_rate": {
        "fr": "Le modèle ne voit pas de différence de rythme d'achat entre clients (r = {r} : coefficient de variation du rythme 1/√r = {cv}) : ses prévisions individuelles diffèrent surtout par l'historique de chacun.",
        "en": "The model sees no difference in purchase rate between customers (r = {r}: the rate's coefficient of variation 1/√r = {cv}): its individual forecasts differ mostly by each customer's history.",
    },
    "same_dropout": {
        "fr": "Le modèle voit la même probabilité d'abandon après un achat pour tous les clients (a + b = {ab} : elle vaut {drop} pour chacun) : P(en vie) ne diffère que par le rythme d'achat et l'historique de chacun.",
        "en": "The model sees the same probability of dropping out after a purchase for every customer (a + b = {ab}: it is {drop} for each): P(alive) differs only by each customer's purchase rate and history.",
    },
    "base": {
        "fr": "Sur les {h} prochains jours, ces clients devraient faire {purchases} achats{value}.",
        "en": "Over the next {h} days, these customers should make {purchases} purchases{value}.",
    },
    "base_value": {
        "fr": ", pour une dépense attendue de {money} (Gamma-Gamma, sans actualisation)",
        "en": ", for an expected spend of {money} (Gamma-Gamma, undiscounted)",
    },
    "fading": {
        "fr": "{n} clients ayant déjà racheté ont une probabilité d'être encore actifs inférieure à {p} ; ils représentent {money} de dépense attendue sur {h} jours.",
        "en": "{n} customers who bought again have a probability of still being active below {p}; they account for {money} of expected spend over {h} days.",
    },
    "limit": {
        "fr": "Limite connue : le modèle considère comme actif un client qui n'a jamais racheté ; la règle « coup d'un soir » de la typologie les couvre.",
        "en": "Known limit: the model treats a customer who never bought again as active; the typology's one-night-stand rule covers them.",
    },
    "holdout": {
        "fr": "Contrôle : ajusté jusqu'au {cut}, le modèle prévoit {expected} achats répétés sur les {days} jours suivants ; {observed} ont eu lieu.",
        "en": "Check: fitted up to {cut}, the model expects {expected} repeat purchases over the next {days} days; {observed} happened.",
    },
    "top_fading": {
        "fr": "Parmi les {top} clients sans contrat de plus forte valeur s'ils restent actifs (le dixième le plus haut), {n} ont une flamme qui vacille (P(en vie) < {p}) : {money_alive} de dépense sur {h} jours s'ils restaient, {money} attendus compte tenu de leur P(en vie). Leur liste n'est pas dans ce rapport : elle est dans l'export client {file}.",
        "en": "Among the {top} customers without contract with the highest value if they stay active (the top tenth), {n} have a fading flame (P(alive) < {p}): {money_alive} of spend over {h} days if they stayed, {money} expected given their P(alive). Their list is not in this report: it is in the customer-level export {file}.",
    },
    "stages_signal": {
        "fr": "P(en vie) (BG/NBD) entre dans la typologie au dernier instantané ({date}) : {n} clients sans contrat changent d'étape ({moves}) ; toutes les sections de ce rapport comptent les étapes avec ce signal.",
        "en": "P(alive) (BG/NBD) enters the typology at the last snapshot ({date}): {n} customers without contract change stage ({moves}); every section of this report counts stages with this signal.",
    },
    "stages_signal_move": {"fr": "{n} de « {before} » à « {after} »", "en": "{n} from {before} to {after}"},
    "stages_signal_none": {
        "fr": "P(en vie) (BG/NBD) entre dans la typologie au dernier instantané ({date}) ; il ne change l'étape d'aucun client.",
        "en": "P(alive) (BG/NBD) enters the typology at the last snapshot ({date}); it changes no customer's stage.",
    },
    "stages_signal_off": {
        "fr": "Les règles d'étapes ne lisent pas P(en vie) : les étapes sont placées sans ce signal.",
        "en": "The stage rules do not read P(alive): stages are placed without this signal.",
    },
    "stages_signal_failed": {
        "fr": "P(en vie) n'a pas pu être calculé ({reason}) : les étapes sont placées sans ce signal.",
        "en": "P(alive) could not be computed ({reason}): stages are placed without this signal.",
    },
    "headline": {
        "fr": "Valeur attendue des clients sans contrat sur {h} jours",
        "en": "Expected value of customers without contract over {h} days",
    },
    "headline_def": {
        "fr": "{n} clients sans contrat ayant acheté jusqu'au {date} : {purchases} jours d'achat attendus du {start} au {end} (BG/NBD), fois la dépense attendue par achat (Gamma-Gamma), sans actualisation.",
        "en": "{n} customers without contract who bought up to {date}: {purchases} purchase days expected from {start} to {end} (BG/NBD), times the expected spend per purchase (Gamma-Gamma), undiscounted.",
    },
}
