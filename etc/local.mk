# etc/: the default configuration file, $(sysconfdir)/fastbank/fastbank.conf.
# make install never overwrites one that exists (it may have been edited);
# make uninstall removes it only if it is still the one shipped.
fbconfdir = $(sysconfdir)/fastbank
EXTRA_DIST += etc/fastbank.conf

install-data-local: fb-install-conf
uninstall-local: fb-uninstall-conf

fb-install-conf:
	@if test -f "$(DESTDIR)$(fbconfdir)/fastbank.conf"; then \
	    echo "keeping the existing $(DESTDIR)$(fbconfdir)/fastbank.conf"; \
	else \
	    echo " $(MKDIR_P) '$(DESTDIR)$(fbconfdir)'"; \
	    $(MKDIR_P) "$(DESTDIR)$(fbconfdir)" || exit 1; \
	    echo " $(INSTALL_DATA) etc/fastbank.conf '$(DESTDIR)$(fbconfdir)/fastbank.conf'"; \
	    $(INSTALL_DATA) $(srcdir)/etc/fastbank.conf \
	        "$(DESTDIR)$(fbconfdir)/fastbank.conf" || exit 1; \
	fi

fb-uninstall-conf:
	@f="$(DESTDIR)$(fbconfdir)/fastbank.conf"; \
	if test -f "$$f" && cmp -s $(srcdir)/etc/fastbank.conf "$$f"; then \
	    echo " rm -f '$$f'"; rm -f "$$f"; \
	elif test -f "$$f"; then \
	    echo "keeping the modified $$f"; \
	fi

.PHONY: fb-install-conf fb-uninstall-conf
