# nginx/: the shipped nginx configuration.
EXTRA_DIST += nginx
