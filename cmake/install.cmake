# What `cmake --install build --prefix P` puts into P: include/msglog.h,
# libmsglog.so.MAJOR (with its links) and libmsglog.a in LIBDIR, bin/msglog,
# LIBDIR/pkgconfig/msglog.pc and the CMake package in LIBDIR/cmake/msglog.
# Both msglog.pc and the CMake package find P from where they are, so they
# are right for any P, and after P is moved. tests/install/run.sh installs
# into a temporary P and builds a program with each.
include(CMakePackageConfigHelpers)

install(TARGETS msglog msglog_static EXPORT msglogTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS msglog_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# msglog.pc: ${pcfiledir} is LIBDIR/pkgconfig, so P is one ".." per part of
# that path. An absolute LIBDIR or INCLUDEDIR is written as it is.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MSGLOG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(MSGLOG_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  string(REGEX REPLACE "[^/]+" ".." up "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  set(MSGLOG_PC_PREFIX "\${pcfiledir}/${up}")
  set(MSGLOG_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MSGLOG_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(MSGLOG_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# For --static, Debian names its static libuv (libuv_a.a) in libuv-static.pc.
list(TRANSFORM MSGLOG_DEPS_MODULES REPLACE "^libuv$" "libuv-static" OUTPUT_VARIABLE requires)
list(JOIN requires " " MSGLOG_PC_REQUIRES)
configure_file(${CMAKE_SOURCE_DIR}/msglog.pc.in ${CMAKE_BINARY_DIR}/msglog.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/msglog.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The CMake package: msglog::msglog (shared) and msglog::msglog_static.
list(JOIN MSGLOG_DEPS_MODULES " " MSGLOG_DEPS_MODULES_TEXT)
set(MSGLOG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/msglog)
install(EXPORT msglogTargets NAMESPACE msglog:: DESTINATION ${MSGLOG_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/msglogConfig.cmake.in
  ${CMAKE_BINARY_DIR}/msglogConfig.cmake INSTALL_DESTINATION ${MSGLOG_CMAKE_DIR})
# Same major version: the SONAME's promise.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/msglogConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/msglogConfig.cmake
  ${CMAKE_BINARY_DIR}/msglogConfigVersion.cmake DESTINATION ${MSGLOG_CMAKE_DIR})
