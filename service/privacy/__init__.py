"""Privacy zones: route points near a user's places are hidden from everyone else."""
