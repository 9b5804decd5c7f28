"""The exercise catalogue: public standard exercises (admin-managed) and users' private ones."""
