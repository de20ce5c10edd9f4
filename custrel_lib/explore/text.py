"""Words of the explorer and the customer story (French and English)."""

from __future__ import annotations

from custrel_lib.i18n import check_lang

TEXT = {
    "threshold": {"fr": "{stage} : {feature} {op}", "en": "{stage}: {feature} {op}"},
    "horizon": {"fr": "Horizon H (jours)", "en": "Horizon H (days)"},
    "snapshot": {"fr": "Date d'observation", "en": "Snapshot date"},
    "cohort": {"fr": "Cohorte (année d'arrivée)", "en": "Cohort (year first known)"},
    "channel": {"fr": "Canal d'acquisition", "en": "Acquisition channel"},
    "region": {"fr": "Région", "en": "Region"},
    "all": {"fr": "(tous)", "en": "(all)"},
    "thresholds": {"fr": "Seuils des règles", "en": "Rule thresholds"},
    "stage_pick": {"fr": "Étape à lister", "en": "Stage to list"},
    "export": {"fr": "Exporter les règles (custrel.yml)", "en": "Export the rules (custrel.yml)"},
    "reset": {"fr": "Revenir aux règles du modèle", "en": "Back to the model's rules"},
    "tab_distribution": {"fr": "Répartition", "en": "Distribution"},
    "tab_sankey": {"fr": "Flux", "en": "Flows"},
    "tab_profiles": {"fr": "Profils", "en": "Profiles"},
    "tab_customers": {"fr": "Clients de l'étape", "en": "Customers of the stage"},
    "tab_export": {"fr": "Export", "en": "Export"},
    "status": {
        "fr": "{n} clients au {date} · H = {h} jours · recalculé en {seconds} s",
        "en": "{n} customers on {date} · H = {h} days · recomputed in {seconds} s",
    },
    "status_sample": {
        "fr": " · échantillon aléatoire de {n} clients sur {total} (graine {seed}, analysis.fit_sample)",
        "en": " · random sample of {n} of {total} customers (seed {seed}, analysis.fit_sample)",
    },
    "status_counts": {"fr": "Clients par étape", "en": "Customers per stage"},
    "rule_of": {
        "fr": "Règle qui place les clients en « {stage} » : {rule}",
        "en": "Rule placing customers in “{stage}”: {rule}",
    },
    "listed": {
        "fr": "{shown} clients affichés sur {n} (choisir un client ouvre son histoire).",
        "en": "{shown} of {n} customers shown (choosing one opens its story).",
    },
    "no_customer": {"fr": "Aucun client dans cette étape.", "en": "No customer in this stage."},
    "export_help": {
        "fr": "Copier ce bloc dans custrel.yml (il remplace les sections analysis et stages) : "
        "le rapport planifié calculera les mêmes étapes.",
        "en": "Copy this block into custrel.yml (it replaces the analysis and stages sections): "
        "the scheduled report will compute the same stages.",
    },
    "customer": {"fr": "Client", "en": "Customer"},
    "search": {"fr": "Rechercher un identifiant client", "en": "Search a customer id"},
    "unknown_customer": {"fr": "Client inconnu : {customer}", "en": "Unknown customer: {customer}"},
    # customer story
    "story_title": {"fr": "Histoire du client {customer}", "en": "Story of customer {customer}"},
    "story_sub": {
        "fr": "Achats (taille = montant), interactions, contrat et étapes de la relation (H = {h} jours)",
        "en": "Purchases (size = amount), interactions, contract and relationship stages (H = {h} days)",
    },
    "story_sub_count": {
        "fr": "Achats (sans montants dans les données), interactions, contrat et étapes de la relation (H = {h} jours)",
        "en": "Purchases (no amounts in the data), interactions, contract and relationship stages (H = {h} days)",
    },
    "lane_stage": {"fr": "Étape", "en": "Stage"},
    "lane_contract": {"fr": "Contrat", "en": "Contract"},
    "lane_purchases": {"fr": "Achats", "en": "Purchases"},
    "lane_refunds": {"fr": "Remboursements", "en": "Refunds"},
    "lane_interactions": {"fr": "Interactions", "en": "Interactions"},
    "purchase": {"fr": "Achat", "en": "Purchase"},
    "refund": {"fr": "Remboursement", "en": "Refund"},
    "nps": {"fr": "NPS", "en": "NPS"},
    "complaint": {"fr": "Réclamation", "en": "Complaint"},
    "referral": {"fr": "Recommandation, parrainage", "en": "Referral"},
    "other_interaction": {"fr": "Autre interaction", "en": "Other interaction"},
    "contract": {"fr": "Contrat", "en": "Contract"},
    "resolved": {"fr": "résolue", "en": "resolved"},
    "open": {"fr": "ouverte", "en": "open"},
    "change_to": {"fr": "→ {stage}", "en": "→ {stage}"},
}


def t(key: str, lang: str = "fr", **fmt) -> str:
    """The text ``key`` in ``lang``, formatted."""
    return TEXT[key][check_lang(lang)].format(**fmt)
