# nginx/: the shipped nginx configuration and the script that runs it.
EXTRA_DIST += \
	nginx/fastbank.conf \
	nginx/fastbank-fastcgi.conf \
	nginx/fastbank-limit-req.conf \
	nginx/fb-run.sh

# make install: the configuration as examples; README.md, "Installing",
# says where they go.  The Debian package installs them into /etc/nginx.
fbnginxdir = $(docdir)/nginx
fbnginx_DATA = \
	nginx/fastbank.conf \
	nginx/fastbank-fastcgi.conf \
	nginx/fastbank-limit-req.conf
