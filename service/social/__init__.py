"""Social contract shared by friends, posts, comments, likes, feed and notifications."""
