// List the indexes of every collection against the ones the documents declare.
//
//   python -m scripts.pipelines indexes > /tmp/indexes.json
//   mongosh "$MONGODB_URI" --quiet --eval 'var declaredFile = "/tmp/indexes.json"' scripts/mongosh/indexes.js
//
// The declared indexes are each document's `Settings.indexes` (documents/*.py), printed by
// scripts/pipelines.py; at startup the app reconciles the server with them (service/indexes.py:
// creates the missing, rebuilds the different, drops the extra). Status per index:
//   ok         on the server as declared (key, and the options declared: unique, TTL, sparse...)
//   missing    declared, not on the server (queries that need it scan): restart the app
//   different  same name, other key or options: restart the app, which rebuilds it
//   extra      on the server, not declared: the app's next startup drops it (so never add an
//              index by hand: declare it in documents/*.py)
// Output: one JSON line per index, then {"ok", "missing", "different", "extra"}; exit code 1
// when any is missing or different.

function fail(message, code) {
  process.stderr.write(message + "\n");
  quit(code);
}

if (typeof declaredFile === "undefined") {
  fail("usage: --eval 'var declaredFile = \"indexes.json\"' (from python -m scripts.pipelines indexes)", 2);
}
const declared = EJSON.parse(require("fs").readFileSync(declaredFile, "utf8"));

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b); // key order matters in an index
const existingNames = new Set(db.getCollectionNames());
const totals = { ok: 0, missing: 0, different: 0, extra: 0 };
const report = (line) => {
  totals[line.status] += 1;
  print(EJSON.stringify(line, { relaxed: true }));
};

const collections = [...new Set(declared.map((d) => d.collection))].sort();
for (const collection of collections) {
  const onServer = existingNames.has(collection) ? db.getCollection(collection).getIndexes() : [];
  const byName = new Map(onServer.map((ix) => [ix.name, ix]));
  const wanted = declared.filter((d) => d.collection === collection);
  for (const want of wanted) {
    const have = byName.get(want.name);
    let status = "ok";
    if (have === undefined) {
      status = "missing";
    } else if (
      !same(have.key, want.key) ||
      Object.entries(want.options).some(([option, value]) => !same(have[option], value))
    ) {
      status = "different";
    }
    const line = { collection, name: want.name, status, key: want.key };
    if (status === "different") line.server = have;
    report(line);
  }
  const wantedNames = new Set(wanted.map((d) => d.name));
  for (const ix of onServer) {
    if (ix.name !== "_id_" && !wantedNames.has(ix.name)) {
      report({ collection, name: ix.name, status: "extra", key: ix.key });
    }
  }
}
print(EJSON.stringify(totals));
if (totals.missing + totals.different > 0) quit(1);
