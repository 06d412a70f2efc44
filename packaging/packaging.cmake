# Installation (cmake --install) and the Debian package (cpack -G DEB; scripts/package).
# What goes where, under the install prefix:
#   bin/livefeed                            the daemon; its default --web-root is found
#                                           from its own place: ../share/livefeed/web
#   share/livefeed/web, share/livefeed/nginx the pages and the nginx snippets
#   share/man/man8/livefeed.8.gz            the manual
#   share/doc/livefeed/                     copyright, changelog.gz, README.md
#   etc/livefeed/livefeed.conf              the documented config
#   lib/systemd/system/livefeed.service     the unit
# With the prefix /usr (the package) the config goes to /etc/livefeed and the unit to
# /lib/systemd/system, as GNUInstallDirs and Debian 12 do. That choice and the paths inside
# the config and the unit are made at install time (install_templates.cmake), so one build
# installs correctly to any `cmake --install --prefix` and packages for /usr.
include(GNUInstallDirs)

# From the installed binary to the installed pages; main.cpp joins it to its own directory.
file(RELATIVE_PATH livefeed_web_from_bindir "${CMAKE_INSTALL_FULL_BINDIR}"
     "${CMAKE_INSTALL_FULL_DATADIR}/livefeed/web")
target_compile_definitions(livefeed PRIVATE LIVEFEED_WEB_FROM_BINDIR="${livefeed_web_from_bindir}")

install(TARGETS livefeed RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# A stripped install (the package) also drops the compiler's notes, as dh_strip does.
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --remove-section=.comment --remove-section=.note
                    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/livefeed\"
                    COMMAND_ERROR_IS_FATAL ANY)
  endif()")
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/livefeed/web)
install(FILES nginx/livefeed.conf nginx/livefeed-locations.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/livefeed/nginx)

# Debian wants the manual and the changelog compressed, reproducibly (-n: no time stamp).
set(livefeed_gzipped)
foreach(doc packaging/livefeed.8 packaging/debian/changelog)
  get_filename_component(name "${doc}" NAME)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/packaging/${name}.gz")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E copy "${CMAKE_CURRENT_SOURCE_DIR}/${doc}" "packaging/${name}"
    COMMAND gzip -9nf "packaging/${name}"
    DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${doc}"
    WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}" VERBATIM)
  list(APPEND livefeed_gzipped "${out}")
endforeach()
add_custom_target(livefeed_docs ALL DEPENDS ${livefeed_gzipped})
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/packaging/livefeed.8.gz"
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES packaging/debian/copyright README.md
              "${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME livefeed)

# The config and the unit, filled in for the prefix being installed to.
install(CODE "
  set(LIVEFEED_PACKAGING_DIR \"${CMAKE_CURRENT_SOURCE_DIR}/packaging\")
  set(LIVEFEED_STAGING_DIR \"${CMAKE_CURRENT_BINARY_DIR}/packaging/install\")
  set(LIVEFEED_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(LIVEFEED_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(LIVEFEED_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")")
install(SCRIPT packaging/install_templates.cmake)

# The Debian package. Its version is the changelog's, so the two cannot disagree.
file(STRINGS packaging/debian/changelog livefeed_changelog_head LIMIT_COUNT 1)
string(REGEX REPLACE "^livefeed \\(([^)]+)\\).*" "\\1" livefeed_version "${livefeed_changelog_head}")
set(LIVEFEED_PACKAGE_MAINTAINER "livefeed maintainers <maintainers@livefeed.example.org>"
    CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME livefeed)
set(CPACK_PACKAGE_VERSION "${livefeed_version}")
set(CPACK_PACKAGE_CONTACT "${LIVEFEED_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "live JSON feed server for web browsers (long-poll and Server-Sent Events)")
set(CPACK_PACKAGE_DESCRIPTION "livefeed is a small HTTP server that pushes a live JSON feed to web browsers.
Publishers POST items; browsers follow channels by long-polling or with
Server-Sent Events and get every item exactly once, in order, across
reconnects and proxies. It holds tens of thousands of waiting clients on a few
epoll event loops, keeps items in memory or shares them through Redis between
several nodes, and reloads its settings on SIGHUP without dropping a client.
A browser client, a live page, an admin page and nginx snippets are included.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Installed with DESTDIR and the prefix /usr, so install_templates.cmake sees /usr and
# puts the config in /etc and the unit in /lib/systemd/system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Depends: from the libraries the binary links (dpkg-shlibdeps), plus adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/conffiles"
    "${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postinst"
    "${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/prerm"
    "${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
