# The Debian package of the node (component "node"): `cpack -G DEB` in the build directory, or bin/package.
# Only the headless raftwc goes in it (the tests, benchmarks and dashboard are not installed with it).
include(GNUInstallDirs)

set(RAFTWC_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(RAFTWC_PKG_GEN ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${RAFTWC_PKG_GEN})

# Debian wants the changelog and the man page compressed with gzip -9n (no timestamp).
add_custom_command(OUTPUT ${RAFTWC_PKG_GEN}/changelog.Debian.gz ${RAFTWC_PKG_GEN}/raftwc.1.gz
                   COMMAND gzip -9nc ${RAFTWC_PKG_DIR}/deb/changelog > ${RAFTWC_PKG_GEN}/changelog.Debian.gz
                   COMMAND gzip -9nc ${RAFTWC_PKG_DIR}/raftwc.1 > ${RAFTWC_PKG_GEN}/raftwc.1.gz
                   DEPENDS ${RAFTWC_PKG_DIR}/deb/changelog ${RAFTWC_PKG_DIR}/raftwc.1)
add_custom_target(raftwc_package_files ALL
                  DEPENDS ${RAFTWC_PKG_GEN}/changelog.Debian.gz ${RAFTWC_PKG_GEN}/raftwc.1.gz)

install(FILES ${RAFTWC_PKG_DIR}/raftwc.service DESTINATION lib/systemd/system COMPONENT node)
install(FILES ${RAFTWC_PKG_DIR}/raftwc.default DESTINATION /etc/default RENAME raftwc COMPONENT node)
install(FILES ${RAFTWC_PKG_DIR}/deb/copyright ${RAFTWC_PKG_GEN}/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT node)
install(FILES ${RAFTWC_PKG_GEN}/raftwc.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT node)
install(FILES ${RAFTWC_PKG_DIR}/deb/lintian-overrides DESTINATION share/lintian/overrides RENAME raftwc
        COMPONENT node)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME raftwc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "raftwc authors <raftwc@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "high-availability word-counting cluster node")
set(CPACK_PACKAGE_DESCRIPTION
    "raftwc runs one node of a cluster that counts the words of uploaded text
files. Nodes find each other over UDP multicast or static peers, elect a
leader with Raft and replicate every upload through a log on local disk
before counting shards of it on every live member. Each node serves a web
page and a JSON API on port 3000. This package installs the headless node
as a hardened systemd service.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL node)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian 12 names the libraries libqt6core6 / libssl3; Ubuntu 24.04 renamed them for 64-bit time_t
# (libqt6core6t64, libssl3t64): either satisfies the dependency.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1 (>= 3.0), libqt6core6 (>= 6.4) | libqt6core6t64 (>= 6.4), libqt6network6 (>= 6.4) | libqt6network6t64 (>= 6.4), libssl3 (>= 3.0) | libssl3t64 (>= 3.0), adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${RAFTWC_PKG_DIR}/deb/postinst ${RAFTWC_PKG_DIR}/deb/prerm ${RAFTWC_PKG_DIR}/deb/postrm
    ${RAFTWC_PKG_DIR}/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
