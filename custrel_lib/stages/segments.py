"""Data-driven segmentation with scikit-learn, compared with the typology.

Pipeline: log1p of the skewed non-negative features, standard scaling, KMeans (k chosen by silhouette on a
seeded subsample) or a Gaussian mixture (k chosen by BIC); each cluster is named after the nearest stage
prototype (stage centroids in the scaled space); a shallow decision tree explains the clusters in the original
units; agreement with the typology is the adjusted Rand index and a confusion table.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from custrel_lib.exceptions import ConfigError, InsufficientDataError
from custrel_lib.i18n import format_number, format_percent, tr
from custrel_lib.stages import typology
from custrel_lib.stages.features import MONEY_FEATURES, feature_label

DEFAULT_FEATURES = (
    "recency_days",
    "n_purchases",
    "monetary",
    "avg_basket",
    "tenure_days",
    "purchases_12m",
    "basket_trend",
    "n_categories",
)


def default_features(amounts: bool = True) -> tuple[str, ...]:
    """:data:`DEFAULT_FEATURES`, without those read from the amounts when the transactions hold none."""
    return tuple(c for c in DEFAULT_FEATURES if amounts or c not in MONEY_FEATURES)


LOG_FEATURES = (
    "recency_days",
    "n_purchases",
    "monetary",
    "avg_basket",
    "tenure_days",
    "purchases_12m",
    "n_categories",
)

TEXT = {
    "segment": {"fr": "segment {n}", "en": "segment {n}"},
    "profile": {"fr": "profil {label}", "en": "{label} profile"},
    "and": {"fr": " et ", "en": " and "},
    "everyone": {"fr": "tous les clients", "en": "every customer"},
    "agreement": {
        "fr": "{n} segments ; indice de Rand ajusté avec les étapes : {ari}.",
        "en": "{n} segments; adjusted Rand index with the stages: {ari}.",
    },
}


class Segmentation:
    """Cluster customers on their features; name, explain and compare the clusters with the stages.

    Parameters
    ----------
    n_segments : int, optional
        Number of clusters; ``None`` chooses it in ``k_range`` (silhouette for KMeans, BIC for a mixture).
    method : "kmeans" or "gmm"
    k_range : (int, int)
        Inclusive range of k tried when ``n_segments`` is None.
    features : sequence of str
        Feature columns used (missing values are filled with the column median; trends with 0).
    random_state : int
        Seed: two fits with the same seed give the same labels.
    sample_size : int
        Customers used to score each k (silhouette is quadratic in the sample).
    """

    def __init__(
        self,
        n_segments: int | None = None,
        method: str = "kmeans",
        k_range: tuple[int, int] = (2, 9),
        features: Sequence[str] = DEFAULT_FEATURES,
        random_state: int = 0,
        sample_size: int = 3000,
        tree_depth: int = 3,
    ):
        if method not in ("kmeans", "gmm"):
            raise ConfigError(f"Unknown method {method!r}: use 'kmeans' or 'gmm'.")
        if n_segments is not None and n_segments < 2:
            raise ConfigError("n_segments must be at least 2 (or None to let the data choose).")
        if k_range[0] < 2 or k_range[1] < k_range[0]:
            raise ConfigError(f"k_range must be (low >= 2, high >= low), got {k_range}.")
        self.n_segments, self.method, self.k_range = n_segments, method, tuple(k_range)
        self.features, self.random_state, self.sample_size = list(features), random_state, sample_size
        self.tree_depth = tree_depth

    def _matrix(self, df: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise ConfigError(f"Segmentation features not found: {', '.join(missing)}.")
        x = df[self.features].astype(float).copy()
        for c in self.features:
            fill = 0.0 if "trend" in c else x[c].median()
            x[c] = x[c].fillna(0.0 if pd.isna(fill) else fill)
            if c in LOG_FEATURES:
                x[c] = np.log1p(x[c].clip(lower=0))
            elif "trend" in c:
                x[c] = x[c].clip(-1, 3)
        return x

    def fit(self, features: pd.DataFrame, stages: pd.Series | None = None) -> Segmentation:
        """Fit on one row per customer (``customer_id`` + features); ``stages`` (by customer) names the clusters.

        Customers without any purchase (prospects) are left out: they have no behaviour to cluster.
        """
        df = (
            features[features["n_purchases"] > 0].reset_index(drop=True)
            if "n_purchases" in features
            else features
        )
        self.excluded_ = len(features) - len(df)
        if len(df) < 10:
            raise InsufficientDataError("customers", len(df), 10)
        x = self._matrix(df)
        self.scaler_ = StandardScaler().fit(x)
        z = self.scaler_.transform(x)
        rng = np.random.default_rng(self.random_state)
        idx = rng.choice(len(z), size=min(self.sample_size, len(z)), replace=False)
        ks = (
            [self.n_segments]
            if self.n_segments
            else list(range(self.k_range[0], min(self.k_range[1], len(df) - 1) + 1))
        )
        scores, models = [], {}
        for k in ks:
            if self.method == "kmeans":
                model = KMeans(n_clusters=k, n_init=4, random_state=self.random_state).fit(z)
                labels = model.labels_
                score = silhouette_score(z[idx], labels[idx]) if len(set(labels[idx])) > 1 else np.nan
                scores.append({"k": k, "silhouette": score, "inertia": model.inertia_})
            else:
                model = GaussianMixture(
                    n_components=k, covariance_type="full", random_state=self.random_state
                ).fit(z)
                scores.append({"k": k, "bic": model.bic(z)})
            models[k] = model
        self.scores_ = pd.DataFrame(scores)
        if self.n_segments:
            best = self.n_segments
        elif self.method == "kmeans":
            best = int(self.scores_.loc[self.scores_["silhouette"].idxmax(), "k"])
        else:
            best = int(self.scores_.loc[self.scores_["bic"].idxmin(), "k"])
        self.n_segments_, self.model_ = best, models[best]
        labels = self.model_.predict(z)
        self.customer_ids_ = df["customer_id"].astype("string").to_numpy()
        self.labels_ = pd.Series(
            labels, index=pd.Index(self.customer_ids_, name="customer_id"), name="segment"
        )
        self.centers_ = pd.DataFrame(
            [x[labels == c].mean() for c in range(best)], index=range(best), columns=self.features
        )
        self.names_ = self._name_clusters(z, labels, stages)
        self.tree_ = DecisionTreeClassifier(max_depth=self.tree_depth, random_state=self.random_state)
        raw = df[self.features].astype(float).fillna(0.0)
        self.tree_.fit(raw, labels)
        self.tree_accuracy_ = float(self.tree_.score(raw, labels))
        return self

    def _name_clusters(self, z: np.ndarray, labels: np.ndarray, stages: pd.Series | None) -> dict[int, str]:
        if stages is None:
            return {c: f"segment {c + 1}" for c in range(self.n_segments_)}  # a name; see name_label
        st = pd.Series(stages).reindex(self.customer_ids_).to_numpy()
        protos = {s: z[st == s].mean(axis=0) for s in typology.stage_order() if (st == s).any()}
        names: dict[int, str] = {}
        used: dict[str, int] = {}
        for c in range(self.n_segments_):
            center = z[labels == c].mean(axis=0)
            nearest = min(protos, key=lambda s: float(np.sum((protos[s] - center) ** 2)))
            used[nearest] = used.get(nearest, 0) + 1
            names[c] = nearest if used[nearest] == 1 else f"{nearest} {used[nearest]}"
        return names

    def segment_label(self, c: int, lang: str = "fr") -> str:
        """The name of cluster ``c`` for readers of ``lang`` (``profil Fiancé(e) 2``, ``Engaged profile 2``)."""
        return self.name_label(self.names_[c], lang)

    @staticmethod
    def name_label(name: str, lang: str = "fr") -> str:
        """A segment name of :attr:`names_` (``fiance 2``, ``segment 3``) in words for readers of ``lang``."""
        code, _, suffix = str(name).partition(" ")
        if code in typology.stage_order():
            label = tr(TEXT, "profile", lang, label=typology.stage_label(code, lang))
            return label + (f" {suffix}" if suffix else "")
        if code == "segment" and suffix.isdigit():
            return tr(TEXT, "segment", lang, n=suffix)
        return str(name)

    def agreement_sentence(self, ari: float, lang: str = "fr") -> str:
        """One sentence: how many segments, and their adjusted Rand index with the stages."""
        return tr(TEXT, "agreement", lang, n=self.n_segments_, ari=format_number(ari, lang, decimals=2))

    def agreement(self, stages: pd.Series, lang: str | None = None) -> tuple[float, pd.DataFrame]:
        """Adjusted Rand index between clusters and stages, and the confusion table (clusters x stages).

        The table's rows are the segment names of :attr:`names_`, or their labels in ``lang`` when it is
        given (:meth:`name_label`); its columns are stage codes.
        """
        st = pd.Series(stages).reindex(self.labels_.index)
        ok = st.notna().to_numpy()
        ari = float(adjusted_rand_score(st[ok].astype(str), self.labels_[ok]))
        table = pd.crosstab(self.labels_[ok].map(self.names_).rename("segment"), st[ok].rename("stage"))
        order = [c for c in typology.stage_order() if c in table.columns]
        table = table[order]
        if lang is not None:
            table = table.rename(index=lambda name: self.name_label(name, lang))
        return ari, table

    def rules_text(self, lang: str = "fr") -> list[str]:
        """The decision tree as readable rules, one per leaf: conditions -> segment (share of the leaf).

        Features are named by their label in ``lang``, thresholds and shares written the reader's way.
        """
        tree = self.tree_.tree_
        conj = tr(TEXT, "and", lang)
        out: list[str] = []

        def walk(node: int, conds: list[str]) -> None:
            if tree.children_left[node] == tree.children_right[node]:
                counts = tree.value[node][0]
                c = int(np.argmax(counts))
                purity = counts[c] / counts.sum()
                cond = conj.join(conds) or tr(TEXT, "everyone", lang)
                share = format_percent(purity, lang, decimals=0)
                out.append(f"{cond} → {self.segment_label(self.tree_.classes_[c], lang)} ({share})")
                return
            name = feature_label(self.features[tree.feature[node]], lang)
            thr = float(tree.threshold[node])
            digits = 0 if thr.is_integer() or abs(thr) >= 100 else 2 if abs(thr) < 1 else 1
            value = format_number(thr, lang, decimals=digits)
            walk(tree.children_left[node], [*conds, f"{name} ≤ {value}"])
            walk(tree.children_right[node], [*conds, f"{name} > {value}"])

        walk(0, [])
        return out

    @property
    def summary(self) -> pd.DataFrame:
        sizes = self.labels_.value_counts().sort_index()
        return pd.DataFrame(
            {
                "segment": [self.names_[c] for c in sizes.index],
                "customers": sizes.to_numpy(),
                "share": (sizes / sizes.sum()).to_numpy(),
            }
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p>{self.n_segments_} segments ({html.escape(self.method)}); {self.excluded_:,} customers without a "
            f"purchase left out; decision-tree accuracy {self.tree_accuracy_:.0%}</p>"
        )
        return head + self.summary.to_html(index=False, escape=True)
