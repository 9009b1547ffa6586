# sanitizers.cmake: -DMAILFORT_SANITIZE=ON builds everything under ASan + UBSan.
# clang 14's -fsanitize=function (part of "undefined") cannot emit its type check for coroutine frames
# split across sections ("Cannot represent a difference across sections"), so it is turned off for clang;
# every other UBSan check stays on.
#
# Two exceptions in the ASan build, both for compile time (measured on the unity file of smtp/server*.cpp, GCC 12,
# CPU seconds: no sanitizer 29, ASan 30, ASan+UBSan 55, ASan+UBSan without vptr 45):
# - vptr is off. It checks that a call through a pointer reaches an object of the static type, i.e. a wrong
#   static_cast downcast; src/ has no class-hierarchy downcast. The fuzz build (clang) keeps vptr on for the parsers.
# - The unit tests' own files (tests/unit/, MAILFORT_SANITIZE_TEST_OPTIONS) get ASan only: the code under test, the
#   src/ libraries they link, keeps ASan + UBSan.
set(_mf_no_function $<$<CXX_COMPILER_ID:Clang>:-fno-sanitize=function>)
set(MAILFORT_SANITIZE_OPTIONS -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined
                              -fno-omit-frame-pointer ${_mf_no_function})
set(MAILFORT_SANITIZE_TEST_OPTIONS -fsanitize=address -fno-omit-frame-pointer)
if(MAILFORT_SANITIZE)
  add_compile_options(${MAILFORT_SANITIZE_OPTIONS})
  add_link_options(-fsanitize=address,undefined)
endif()
if(MAILFORT_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer ${_mf_no_function})
  add_link_options(-fsanitize=address,undefined)
endif()
