// Promote a user to admin or demote an admin to user, refusing to remove the last admin.
//
//   mongosh "$MONGODB_URI" --quiet --eval 'var email = "ann@example.com", role = "admin"' scripts/mongosh/set_role.js
//   mongosh "$MONGODB_URI" --quiet --eval 'var email = "ann@example.com", role = "user"' scripts/mongosh/set_role.js
//
// The same change as the API's PATCH /users/{id}/role. Takes effect on the user's next
// request (roles are read from the database, not from the token). The ADMIN_EMAIL account gets
// its admin role back at the next startup: change ADMIN_EMAIL first to demote it for good.
// Output: one JSON line {"email", "was", "role"}; exit code 1 when refused, 2 on bad input.

const ROLES = ["user", "admin"];

function fail(message, code) {
  process.stderr.write(message + "\n");
  quit(code);
}

if (typeof email === "undefined" || typeof role === "undefined" || !ROLES.includes(role)) {
  fail('usage: --eval \'var email = "...", role = "admin"\' (role: admin or user)', 2);
}
const address = String(email).trim().toLowerCase();
const user = db.users.findOne({ email: address }, { role: 1 });
if (user === null) {
  fail("no user with email " + address, 1);
}
const report = () => print(EJSON.stringify({ email: address, was: user.role, role: role }));

if (user.role === role) {
  report(); // nothing to do
} else if (role === "admin") {
  db.users.updateOne({ _id: user._id }, { $set: { role: "admin" } });
  report();
} else {
  // Refuse up front when this is the last admin ...
  if (db.users.countDocuments({ role: "admin" }) <= 1) {
    fail(address + " is the last admin: promote another admin first", 1);
  }
  // ... and check again after the write, because two operators demoting the last two admins at
  // the same moment both pass the first check: each puts its admin back, so one always stays.
  db.users.updateOne({ _id: user._id, role: "admin" }, { $set: { role: "user" } });
  if (db.users.countDocuments({ role: "admin" }) === 0) {
    db.users.updateOne({ _id: user._id }, { $set: { role: "admin" } });
    fail(address + " was the last admin: demotion undone", 1);
  }
  report();
}
