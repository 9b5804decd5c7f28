// Find a user by email or by name; prints the account, never its password hash.
//
//   mongosh "$MONGODB_URI" --quiet --eval 'var email = "ann@example.com"' scripts/mongosh/find_user.js
//   mongosh "$MONGODB_URI" --quiet --eval 'var name = "Ann Lee"' scripts/mongosh/find_user.js
//
// Emails are stored lower-case and names are matched on `name_key` (the casefolded name), so
// both lookups are case-insensitive and use a unique index (`email_unique`, `name_key_unique`).
// JavaScript has no casefold: a name with "ß" or a final sigma needs its name_key spelled out.
// Output: one line of relaxed Extended JSON for the user, with its team memberships (at most 50);
// exit code 1 when there is none.

function fail(message, code) {
  process.stderr.write(message + "\n");
  quit(code);
}

let filter;
if (typeof email !== "undefined") {
  filter = { email: String(email).trim().toLowerCase() };
} else if (typeof name !== "undefined") {
  filter = { name_key: String(name).trim().toLowerCase() };
} else {
  fail('usage: --eval \'var email = "..."\' or --eval \'var name = "..."\'', 2);
}

const user = db.users.findOne(filter, { password_hash: 0 });
if (user === null) {
  fail("no user matches " + EJSON.stringify(filter), 1);
}
user.memberships = db.memberships
  .find({ user_id: user._id }, { _id: 0, team_id: 1, role: 1, joined_at: 1 })
  .sort({ joined_at: 1 }) // index user_joined
  .limit(50)
  .toArray();
print(EJSON.stringify(user, { relaxed: true }));
