"""Reports: users flag posts, comments and users; admins resolve them (dismiss or remove)."""
