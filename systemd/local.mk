# systemd/: fastbank.socket and fastbank.service, made from their .in
# files with the configured paths.  Always built (tests/test-systemd-units.sh
# checks them); installed unless --with-systemdsystemunitdir=no.
fb_units = systemd/fastbank.socket systemd/fastbank.service

if FB_SYSTEMD_UNITS
systemdsystemunit_DATA = $(fb_units)
else
noinst_DATA = $(fb_units)
endif

fb_edit_units = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@NGINX_GROUP[@]|$(NGINX_GROUP)|g'

$(fb_units): Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && rm -f $@ $@.tmp && \
	$(fb_edit_units) $(srcdir)/$@.in >$@.tmp && \
	if grep -n '@[A-Za-z_]*@' $@.tmp; then \
	    echo "$@: unreplaced @VARIABLE@ above" >&2; rm -f $@.tmp; exit 1; \
	fi && mv $@.tmp $@
systemd/fastbank.socket: $(srcdir)/systemd/fastbank.socket.in
systemd/fastbank.service: $(srcdir)/systemd/fastbank.service.in

CLEANFILES += $(fb_units)
EXTRA_DIST += systemd/fastbank.socket.in systemd/fastbank.service.in

# distcheck installs under its own prefix: never into /lib/systemd/system.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${dc_install_base}/lib/systemd/system'
