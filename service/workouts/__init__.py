"""Workouts: strength and conditioning sessions made of sets of catalogue exercises."""
