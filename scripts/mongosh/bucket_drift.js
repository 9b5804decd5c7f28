// Check the score buckets against the runs: how many differ (counts only, nothing written).
//
//   mongosh "$MONGODB_URI" --quiet scripts/mongosh/bucket_drift.js
//
// The same comparison as `python -m scripts.rebuild_scores --verify`, which also shows *which*
// buckets differ and, without --verify, repairs them: use that to fix drift, never edit a bucket
// here. One pass over `runs` with the rebuild pipeline, then every bucket is read once and kept in
// memory by its key (a few hundred bytes each): run it in a quiet moment.
// Output: one JSON line {"expected", "stored", "missing", "stale", "changed"}: buckets the runs
// call for, buckets found, buckets absent, buckets no run backs (or stored under an _id that is
// not their natural key), buckets with other totals. Exit code 1 on any drift.

// service/leaderboards/pipelines.rebuild_buckets(); tests/test_mongosh_recipes.py checks it is.
// BEGIN REBUILD_PIPELINE
const REBUILD_PIPELINE = [
  {"$project": {"team_id": 1, "user_id": 1, "city_id": 1, "day": 1, "score": 1, "distance_km": 1}},
  {"$group": {
    "_id": {"team_id": "$team_id", "user_id": "$user_id", "city_id": "$city_id", "day": "$day"},
    "score": {"$sum": "$score"},
    "distance_m": {"$sum": {"$floor": {"$add": [{"$multiply": ["$distance_km", 1000]}, 0.5]}}},
    "runs": {"$sum": 1}
  }}
];
// END REBUILD_PIPELINE

const isoDay = (d) => d.toISOString().slice(0, 10);
const monthOf = (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
// service/leaderboards/buckets.bucket_id: "<kind>|<entity>|<team or ->|<city or ->|<YYYY-MM-DD>"
const bucketId = (kind, entity, team, city, day) =>
  [kind, String(entity), team ? String(team) : "-", city ? String(city) : "-", isoDay(day)].join("|");

// buckets.keys_for: day and month buckets of the team, the runner (with the city credited),
// the runner within the team (member) and the city, when there is one
function keysFor(team, user, city, day) {
  const entities = [["team", team, null, null], ["user", user, null, city], ["member", user, team, null]];
  if (city) entities.push(["city", city, null, null]);
  const keys = [];
  for (const [kind, entity, bucketTeam, bucketCity] of entities) {
    keys.push(bucketId(kind, entity, bucketTeam, bucketCity, day));
    keys.push(bucketId(kind + "_month", entity, bucketTeam, bucketCity, monthOf(day)));
  }
  return keys;
}

const expected = new Map();
db.runs.aggregate(REBUILD_PIPELINE, { allowDiskUse: true }).forEach((row) => {
  const g = row._id;
  for (const key of keysFor(g.team_id, g.user_id, g.city_id, g.day)) {
    const t = expected.get(key) || { score: 0, distance_m: 0, runs: 0 };
    t.score += Number(row.score);
    t.distance_m += Number(row.distance_m);
    t.runs += Number(row.runs);
    expected.set(key, t);
  }
});

const counts = { expected: expected.size, stored: 0, missing: 0, stale: 0, changed: 0 };
const seen = new Set();
db.score_buckets.find({}).forEach((b) => {
  counts.stored += 1;
  const key = bucketId(b.kind, b.entity_id, b.team_id, b.city_id, b.day);
  if (String(b._id) !== key) {
    counts.stale += 1; // misplaced: run changes move the bucket with the natural _id, not this one
    return;
  }
  seen.add(key);
  const want = expected.get(key);
  if (want === undefined) {
    counts.stale += 1;
  } else if (
    want.score !== Number(b.score ?? 0) ||
    want.distance_m !== Number(b.distance_m ?? 0) ||
    want.runs !== Number(b.runs ?? 0)
  ) {
    counts.changed += 1;
  }
});
for (const key of expected.keys()) if (!seen.has(key)) counts.missing += 1;

print(EJSON.stringify(counts));
if (counts.missing + counts.stale + counts.changed > 0) quit(1);
