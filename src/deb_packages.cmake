# SPDX-License-Identifier: MIT
# Debian packages, one per install component (../CMakeLists.txt), built by
# `cpack --config <build>/CPackConfig.cmake -G DEB`:
#   runtime     -> libhupmon<SOVERSION>: libhupmon.so.N and its versioned
#                  file, the license. Named for the SONAME as Debian names
#                  library packages, so that a new SONAME is a new package
#                  that can be installed beside the old one.
#   development -> libhupmon-dev: the header, the libhupmon.so namelink, the
#                  CMake package and hupmon.pc; depends on the runtime
#                  package of exactly its own version.
#   tools       -> hupmon-tools: hupmon-bench and hupmon-serve.
# An install() without a COMPONENT falls into the component "Unspecified",
# which has no description here: cpack -G DEB fails on it, and so does
# tests/deb_packages.sh.
# Included last from ../CMakeLists.txt: CPack takes the list of components
# from the install() rules seen so far.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Empty, not unset: CPackDeb would put the project's DESCRIPTION above each
# package's own first line (the synopsis) below, and would lend it to a
# package of no known component.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
# A placeholder address, not a mailbox: the project has none yet.
set(CPACK_PACKAGE_CONTACT "hupmon authors <hupmon@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Dependencies of the ELF files, from dpkg-shlibdeps (package dpkg-dev).
# hupmon-bench and hupmon-serve link hupmon's objects statically
# (hupmon_internal, bench/CMakeLists.txt), so they need libc6 only, and
# dpkg-shlibdeps needs no private directory to find libhupmon.so in.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libhupmon0's shlibs file: what a program linked against it must depend on.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# development -> runtime becomes "Depends: libhupmonN (= version)".
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS runtime)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libhupmon${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "detect TCP peer hangups on Linux - shared library
hupmon tells a server that the peer of a TCP connection has gone (FIN,
RST, half-close, error, silent death), through an epoll reactor and
deadline-peek sweeps, with counters as a struct, text, JSON or Prometheus.
This package holds the shared library.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libhupmon-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
  "detect TCP peer hangups on Linux - development files
hupmon tells a server that the peer of a TCP connection has gone.
This package holds the header hupmon.h, the libhupmon.so link, the CMake
package (find_package(hupmon)) and the pkg-config file hupmon.pc.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME hupmon-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
  "detect TCP peer hangups on Linux - benchmark and demo server
hupmon-bench measures, on loopback, how soon and at what cost each of
hupmon's detection paths reports a peer that has gone. hupmon-serve is an
HTTP/1.1 server that cancels the work of clients that left.")

include(CPack)
