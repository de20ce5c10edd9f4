"""The executive summary's sentences and labels, in French and English (:mod:`custrel_lib.reports.summary`)."""

TEXT = {
    "active": {"fr": "Clients en relation", "en": "Customers in a relationship"},
    "active_def": {
        "fr": "Clients dont l'étape au {date} est une étape de relation (flirt à reconquis), selon les règles d'étapes ; tous les clients connus.",
        "en": "Customers whose stage on {date} is a relationship stage (flirt to won back), by the stage rules; all known customers.",
    },
    "median": {
        "fr": "Durée médiane en jours — {kind}",
        "en": "Median length in days — {kind}",
    },
    "median_def": {
        "fr": "Kaplan-Meier avec entrée différée, {definition} ; {n} relations dont {k} séparations, suivies jusqu'au {censor}.",
        "en": "Kaplan-Meier with delayed entry, {definition}; {n} relationships of which {k} separations, followed until {censor}.",
    },
    "median_none": {
        "fr": "plus de la moitié encore en cours après {days} jours observés",
        "en": "more than half still running after {days} days observed",
    },
    "at_risk": {"fr": "Clients à risque", "en": "Customers at risk"},
    "at_risk_def": {
        "fr": "Clients actifs au {date} dont la probabilité de séparation atteint {p} : sans contrat, probabilité que le dernier achat soit le dernier (aucun achat dans les {h} jours qui le suivent), d'après le rythme d'achat de chacun ; avec contrat, probabilité que le contrat prenne fin dans les {r} jours.",
        "en": "Active customers on {date} whose probability of separation is {p} or more: without contract, the probability that the last purchase was the last (no purchase within the {h} days after it), from each customer's buying rhythm; with a contract, the probability that it ends within {r} days.",
    },
    "at_risk_def_flame": {
        "fr": " Sont aussi signalés les clients sans contrat ayant racheté dont la probabilité d'être encore actifs (BG/NBD) est inférieure à {t}.",
        "en": " Also flagged: customers without contract who bought again and whose probability of still being active (BG/NBD) is below {t}.",
    },
    "revenue_at_risk": {
        "fr": "Chiffre d'affaires exposé sur {r} jours",
        "en": "Revenue exposed over {r} days",
    },
    "revenue_at_risk_def": {
        "fr": "Somme, sur les {n} clients actifs, de la probabilité de séparation × la dépense attendue sur les {r} prochains jours (au rythme des 365 derniers jours) ; dont {flagged} pour les clients à risque.",
        "en": "Sum over the {n} active customers of probability of separation × spend expected over the next {r} days (at the pace of the last 365 days); of which {flagged} from the customers at risk.",
    },
    "nps": {"fr": "NPS (12 derniers mois)", "en": "NPS (last 12 months)"},
    "nps_def": {
        "fr": "% de promoteurs (9-10) − % de détracteurs (0-6), dernière réponse de chaque client du {start} au {date} ; {n} réponses ; intervalle de confiance à 95 % : {lo} à {hi}{small}.",
        "en": "% promoters (9-10) − % detractors (0-6), each customer's latest answer from {start} to {date}; {n} answers; 95% confidence interval: {lo} to {hi}{small}.",
    },
    "nps_small": {"fr": " (moins de 30 réponses : indicatif)", "en": " (fewer than 30 answers: indicative)"},
    "s_active": {
        "fr": "Au {date}, {n} clients sont en relation avec la marque ({change} depuis le {prev}).",
        "en": "On {date}, {n} customers are in a relationship with the brand ({change} since {prev}).",
    },
    "s_active_signal": {
        "fr": "Au {date}, {n} clients sont en relation avec la marque ({change} depuis le {prev}, dont {signal} dus au signal P(en vie), appliqué au seul dernier instantané ; à règles égales : {same}).",
        "en": "On {date}, {n} customers are in a relationship with the brand ({change} since {prev}, of which {signal} from the P(alive) signal, applied at the last snapshot only; under the same rules: {same}).",
    },
    "same_rules": {"fr": ", à règles égales,", "en": ", under the same rules,"},
    "s_median": {
        "fr": "{kind} : la moitié des relations se terminent en {days} jours.",
        "en": "{kind}: half of the relationships end within {days} days.",
    },
    "s_median_zero": {
        "fr": "{kind} : plus de la moitié des relations ({share}) s'arrêtent au premier achat, sans autre achat dans les {h} jours suivants ; la durée médiane est donc de 0 jour.",
        "en": "{kind}: more than half of the relationships ({share}) stop at the first purchase, with no other purchase within the next {h} days; the median length is therefore 0 days.",
    },
    "s_median_inf": {
        "fr": "{kind} : plus de la moitié des relations durent encore après {days} jours observés.",
        "en": "{kind}: more than half of the relationships last beyond the {days} days observed.",
    },
    "sample_estimate": {
        "fr": " Estimation : compté sur un échantillon aléatoire de {n} clients (graine {seed}) et extrapolé à l'ensemble des clients.",
        "en": " Estimate: counted on a random sample of {n} customers (seed {seed}) and scaled up to all customers.",
    },
    "s_risk": {
        "fr": "{n} clients actifs sur {active} (un achat dans les {h} derniers jours ou un contrat en cours ; un décompte qui ne suit pas les règles d'étapes) ont au moins {p} de risque de séparation ; le chiffre d'affaires exposé sur {r} jours atteint {money}, dont {flagged} chez ces clients.",
        "en": "{n} of {active} active customers (a purchase within the last {h} days or a running contract; a count that does not follow the stage rules) have a {p} or higher risk of separation; revenue exposed over {r} days is {money}, of which {flagged} from these customers.",
    },
    "s_risk_count": {
        "fr": "{n} clients actifs sur {active} (un achat dans les {h} derniers jours ou un contrat en cours ; un décompte qui ne suit pas les règles d'étapes) ont au moins {p} de risque de séparation.",
        "en": "{n} of {active} active customers (a purchase within the last {h} days or a running contract; a count that does not follow the stage rules) have a {p} or higher risk of separation.",
    },
    "s_growth": {
        "fr": "Depuis le {prev}{same} la plus forte hausse concerne l'étape « {stage} » ({change}) et la plus forte baisse l'étape « {down} » ({change_down}).",
        "en": "Since {prev}{same} the largest increase is in the stage '{stage}' ({change}) and the largest decrease in '{down}' ({change_down}).",
    },
    "s_growth_up": {
        "fr": "Depuis le {prev}{same} la plus forte hausse concerne l'étape « {stage} » ({change}) ; aucune étape ne recule.",
        "en": "Since {prev}{same} the largest increase is in the stage '{stage}' ({change}); no stage shrank.",
    },
    "s_growth_down": {
        "fr": "Depuis le {prev}{same} aucune étape ne progresse ; la plus forte baisse concerne l'étape « {down} » ({change_down}).",
        "en": "Since {prev}{same} no stage grew; the largest decrease is in the stage '{down}' ({change_down}).",
    },
    "stable": {"fr": "stable", "en": "unchanged"},
}
