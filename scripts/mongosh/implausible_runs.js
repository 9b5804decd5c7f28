// List the runs that today's plausibility rules (service/runs/limits.py) would refuse.
//
//   mongosh "$MONGODB_URI" --quiet scripts/mongosh/implausible_runs.js
//   mongosh "$MONGODB_URI" --quiet --eval 'var limit = 500' scripts/mongosh/implausible_runs.js
//
// Runs stored before a rule was tightened, or written by hand, can break it. This only lists
// them: fix one through the API (PATCH /runs/{id} applies the rules and moves the score buckets)
// or delete it there; a change made here leaves the buckets behind (then run
// `python -m scripts.rebuild_scores`). A full scan of `runs`: run it in a quiet moment.
// Output: one JSON line per run, newest first (at most `limit`, default 100), with the rules it
// breaks, then {"implausible": <count>, "shown": <n>}; exit code 1 when there is any.

// The limits as limits.py has them; tests/test_mongosh_recipes.py checks they are equal.
// BEGIN LIMITS
const LIMITS = {
  "EARLIEST_START": "2000-01-01T00:00:00+00:00",
  "FUTURE_SKEW_S": 300,
  "MAX_DISTANCE_KM": 350,
  "MIN_DURATION_S": 60,
  "MAX_DURATION_S": 172800,
  "MAX_SPEED_KMH": 25
};
// END LIMITS

const show = typeof limit === "undefined" ? 100 : Number(limit);
const earliest = new Date(LIMITS.EARLIEST_START);
const latest = new Date(Date.now() + LIMITS.FUTURE_SKEW_S * 1000);
const numbers = { $and: [{ $isNumber: "$distance_km" }, { $isNumber: "$duration_s" }] };
// distance_km / (duration_s / 3600) > MAX_SPEED_KMH, without dividing (as limits.py does)
const tooFast = {
  $gt: [{ $multiply: ["$distance_km", 3600] }, { $multiply: [LIMITS.MAX_SPEED_KMH, "$duration_s"] }],
};
const rules = {
  started_too_early: { started_at: { $lt: earliest } },
  started_in_future: { started_at: { $gt: latest } },
  distance_out_of_range: { distance_km: { $not: { $gt: 0, $lte: LIMITS.MAX_DISTANCE_KM } } },
  duration_out_of_range: {
    duration_s: { $not: { $gte: LIMITS.MIN_DURATION_S, $lte: LIMITS.MAX_DURATION_S } },
  },
  // $cond, not $and: the multiplication must never see a non-number
  too_fast: { $expr: { $cond: [numbers, tooFast, false] } },
};
const filter = { $or: Object.values(rules) };

const runs = db.runs
  .find(filter, { user_id: 1, team_id: 1, started_at: 1, distance_km: 1, duration_s: 1, score: 1 })
  .sort({ started_at: -1, _id: -1 })
  .limit(show)
  .toArray();
for (const run of runs) {
  // which rules: ask the server, so the answer is the query's own reading of each rule
  run.breaks = Object.keys(rules).filter(
    (rule) => db.runs.countDocuments({ $and: [{ _id: run._id }, rules[rule]] }) > 0
  );
  print(EJSON.stringify(run, { relaxed: true }));
}
const count = db.runs.countDocuments(filter);
print(EJSON.stringify({ implausible: count, shown: runs.length }));
if (count > 0) quit(1);
