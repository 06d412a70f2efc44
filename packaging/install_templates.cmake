# Runs at install time (cmake --install, or cpack with DESTDIR): fills livefeed.conf.in and
# livefeed.service.in with the paths of this installation, then installs them. The
# variables LIVEFEED_* are set just before by packaging.cmake's install(CODE).
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  # The system's own places, as GNUInstallDirs gives them for /usr on Debian 12.
  set(CONFIG_DIR /etc/livefeed)
  set(unit_dir /lib/systemd/system)
else()
  set(CONFIG_DIR "${prefix}/${LIVEFEED_SYSCONFDIR}/livefeed")
  set(unit_dir "${prefix}/lib/systemd/system")
endif()
set(BIN_DIR "${prefix}/${LIVEFEED_BINDIR}")
set(DATA_DIR "${prefix}/${LIVEFEED_DATADIR}/livefeed")

configure_file("${LIVEFEED_PACKAGING_DIR}/livefeed.conf.in" "${LIVEFEED_STAGING_DIR}/livefeed.conf"
               @ONLY)
configure_file("${LIVEFEED_PACKAGING_DIR}/livefeed.service.in"
               "${LIVEFEED_STAGING_DIR}/livefeed.service" @ONLY)
file(INSTALL "${LIVEFEED_STAGING_DIR}/livefeed.conf" DESTINATION "${CONFIG_DIR}")
file(INSTALL "${LIVEFEED_STAGING_DIR}/livefeed.service" DESTINATION "${unit_dir}")
