# nginx/: the shipped nginx configuration and the script that runs it.
EXTRA_DIST += \
	nginx/fastbank.conf \
	nginx/fastbank-fastcgi.conf \
	nginx/fastbank-limit-req.conf \
	nginx/fb-run.sh
