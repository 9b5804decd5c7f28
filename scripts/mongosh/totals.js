// A team's or a city's totals for a period, with the very pipeline the API runs.
//
//   python -m scripts.pipelines team --period week --team-id <id> > /tmp/board.json
//   mongosh "$MONGODB_URI" --quiet --eval 'var pipelineFile = "/tmp/board.json"' scripts/mongosh/totals.js
//
//   python -m scripts.pipelines city --period month --at 2026-11-30 --city-id <id> > /tmp/board.json
//   mongosh "$MONGODB_URI" --quiet --eval 'var pipelineFile = "/tmp/board.json"' scripts/mongosh/totals.js
//
// or inline: --eval "var pipeline = $(python -m scripts.pipelines team --period week)"
//
// `scripts/pipelines.py` prints the pipeline the API builds (service/leaderboards/pipelines.py)
// as Extended JSON, so the shell and the API cannot drift. Without --team-id/--city-id it is the
// whole board (every team or city of the period, best first); user and member boards work too.
// It reads `score_buckets` only (index kind_day): cheap on production.
// Output: one JSON line per row, best first: {"id", "name", "score", "distance_km", "runs",
// "members"}, the numbers of the API's board row; exit code 1 when no row matches.

function fail(message, code) {
  process.stderr.write(message + "\n");
  quit(code);
}

let source;
if (typeof pipelineFile !== "undefined") {
  source = require("fs").readFileSync(pipelineFile, "utf8");
} else if (typeof pipeline !== "undefined") {
  source = typeof pipeline === "string" ? pipeline : JSON.stringify(pipeline);
} else {
  fail("usage: --eval 'var pipelineFile = \"board.json\"' (from python -m scripts.pipelines)", 2);
}
const stages = EJSON.parse(source); // {"$date": ...} -> Date, {"$oid": ...} -> ObjectId

const rows = db.score_buckets.aggregate(stages).toArray();
for (const row of rows) {
  const out = {
    id: row._id,
    name: row.name,
    score: row.score,
    distance_km: row.distance_m / 1000, // buckets keep whole metres, as the API divides them
    runs: row.runs,
  };
  if (row.members !== undefined) out.members = row.members;
  print(EJSON.stringify(out, { relaxed: true }));
}
if (rows.length === 0) fail("no row: nothing recorded in that period (or no such id)", 1);
