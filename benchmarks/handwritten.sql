-- The floor: the default stage rules written by hand in DuckDB SQL, straight from the Parquet files.
-- No validation, no problems report, no library: what the engine alone does. Monthly snapshots only (month
-- ends from the month of the first transaction to {as_of}, itself a month end); H = {h} days is given.
-- Same definitions as custrel_lib/stages/features.py and the rules of custrel_lib/stages/stages.yml;
-- benchmarks/run.py checks that the stage codes are identical to the library's.
COPY (
WITH
tx AS (
    SELECT customer_id, CAST(date AS DATE) AS date, amount, category
    FROM read_parquet('{tx}') WHERE CAST(date AS DATE) <= DATE '{as_of}'
),
cal AS (SELECT date_trunc('month', min(date)) AS m0 FROM tx),
snaps AS (
    SELECT k, CAST(last_day(m0 + INTERVAL (k) MONTH) AS DATE) AS s
    FROM cal, range(0, datediff('month', (SELECT m0 FROM cal), DATE '{as_of}') + 1) r(k)
),
cu AS (
    SELECT customer_id, CAST(signup_date AS DATE) AS signup, CAST(contract_start AS DATE) AS cstart,
           CAST(contract_end AS DATE) AS cend, coalesce(CAST(loyalty_member AS BOOLEAN), false) AS loyal
    FROM read_parquet('{cu}')
),
-- Month index of a date (events before the first month count at the first snapshot).
p AS (
    SELECT t.customer_id, t.date, t.amount, t.category,
           greatest(datediff('month', c.m0, t.date), 0) AS k,
           t.date - lag(t.date) OVER (PARTITION BY t.customer_id ORDER BY t.date, t.amount) AS gap
    FROM tx t, cal c WHERE t.amount > 0
),
pr AS (
    SELECT p.*, (p.gap > 1.5 * {h}) OR (p.date > cu.cend AND (p.gap IS NULL OR p.date - CAST(p.gap AS INTEGER) <= cu.cend)) AS ret
    FROM p LEFT JOIN cu USING (customer_id)
),
firsts AS (
    SELECT customer_id, min(k) AS fk, min(first_tx) AS first_tx FROM (
        SELECT customer_id, greatest(datediff('month', c.m0, date), 0) AS k, date AS first_tx FROM tx, cal c
        UNION ALL
        SELECT customer_id, greatest(datediff('month', c.m0, signup), 0), NULL FROM cu, cal c
        WHERE signup IS NOT NULL AND signup <= DATE '{as_of}'
    ) GROUP BY customer_id
),
pm AS (
    SELECT customer_id, k, count(*) AS n, sum(amount) AS sp, max(date) AS last_p,
           max(CASE WHEN ret THEN date END) AS last_ret
    FROM pr GROUP BY customer_id, k
),
cats AS (
    SELECT customer_id, k, count(*) AS new_cats FROM (
        SELECT customer_id, category, min(k) AS k FROM p WHERE category IS NOT NULL GROUP BY customer_id, category
    ) GROUP BY customer_id, k
),
it AS (
    SELECT i.customer_id, greatest(datediff('month', c.m0, CAST(i.date AS DATE)), f.fk) AS k,
           max(CASE WHEN i.type = 'nps' AND i.score IS NOT NULL
                    THEN datediff('day', DATE '1970-01-01', CAST(i.date AS DATE)) * 1000 + round(i.score * 10) END)
               AS nps_key,
           sum(CASE WHEN i.type IN ('referral', 'parrainage') THEN 1 ELSE 0 END) AS refs
    FROM read_parquet('{it}') i JOIN firsts f USING (customer_id), cal c
    WHERE CAST(i.date AS DATE) <= DATE '{as_of}'
    GROUP BY ALL
),
grid AS (
    SELECT f.customer_id, s.k, s.s, f.first_tx,
           coalesce(pm.n, 0) AS n, coalesce(pm.sp, 0) AS sp, pm.last_p, pm.last_ret,
           coalesce(cats.new_cats, 0) AS new_cats, it.nps_key, coalesce(it.refs, 0) AS refs
    FROM firsts f JOIN snaps s ON s.k >= f.fk
    LEFT JOIN pm ON pm.customer_id = f.customer_id AND pm.k = s.k
    LEFT JOIN cats ON cats.customer_id = f.customer_id AND cats.k = s.k
    LEFT JOIN it ON it.customer_id = f.customer_id AND it.k = s.k
),
run AS (
    SELECT customer_id, k, s, first_tx,
           sum(n) OVER w AS n_p, max(last_p) OVER w AS last_p, max(last_ret) OVER w AS last_ret,
           sum(new_cats) OVER w AS n_cat, max(nps_key) OVER w AS nps_key, sum(refs) OVER w AS refs,
           sum(n) OVER w12 AS n12, sum(n) OVER w6 AS n6,
           round(sum(sp) OVER w6, 6) AS s6, round(sum(sp) OVER w12 - sum(sp) OVER w6, 6) AS s_prev
    FROM grid
    WINDOW w AS (PARTITION BY customer_id ORDER BY k),
           w12 AS (PARTITION BY customer_id ORDER BY k RANGE BETWEEN 11 PRECEDING AND CURRENT ROW),
           w6 AS (PARTITION BY customer_id ORDER BY k RANGE BETWEEN 5 PRECEDING AND CURRENT ROW)
),
f AS (
    SELECT r.customer_id, r.s, r.n_p, r.n12, r.n_cat, r.refs,
           coalesce(r.s - r.last_p <= {h}, false) AS active,
           r.s - r.last_ret AS since_return,
           r.s - coalesce(least(r.first_tx, cu.signup), r.first_tx, cu.signup) AS tenure,
           coalesce(cu.cstart <= r.s AND (cu.cend IS NULL OR cu.cend > r.s), false) AS running,
           coalesce(cu.loyal AND cu.cstart IS NULL AND r.s >= DATE '{as_of}', false) AS loyal_only,
           coalesce(cu.cend <= r.s, false) AS ended,
           coalesce(cu.cend <= r.s AND r.last_p > cu.cend, false) AS after_end,
           cu.cstart, coalesce(cu.signup, coalesce(least(r.first_tx, cu.signup), r.first_tx, cu.signup)) AS since0,
           (r.nps_key % 1000) / 10.0 >= 9 AS promoter,
           CASE WHEN r.n6 > 0 AND r.n12 - r.n6 > 0 AND r.s_prev / (r.n12 - r.n6) > 0
                THEN (r.s6 / r.n6) / (r.s_prev / (r.n12 - r.n6)) - 1 >= 0.25 ELSE false END AS basket_up
    FROM run r LEFT JOIN cu USING (customer_id)
)
SELECT customer_id, s AS snapshot,
    CASE
        WHEN n_p = 0 THEN 'prospect'
        WHEN (n_p >= 2 AND NOT active AND NOT running) OR (ended AND NOT running AND NOT after_end) THEN 'separe'
        WHEN n_p = 1 AND NOT active THEN 'coup_d_un_soir'
        WHEN since_return <= 365 THEN 'reconquis'
        WHEN (running OR loyal_only)
             AND (CASE WHEN running THEN s - cstart ELSE s - since0 END) >= 365 THEN 'marie'
        WHEN running OR loyal_only
             OR (n_p >= 3 AND coalesce(promoter, false)::INT + (refs > 0)::INT + basket_up::INT
                              + (n_cat >= 3)::INT >= 2) THEN 'fiance'
        WHEN tenure >= 365 AND n12 >= 6 THEN 'concubinage'
        WHEN n_p >= 3 THEN 'petit_ami'
        ELSE 'flirt'
    END AS stage
FROM f
) TO '{out}' (FORMAT parquet)
