# sanitizers.cmake: -DMAILFORT_SANITIZE=ON builds everything under ASan + UBSan.
# clang 14's -fsanitize=function (part of "undefined") cannot emit its type check for coroutine frames
# split across sections ("Cannot represent a difference across sections"), so it is turned off for clang;
# every other UBSan check stays on.
set(_mf_no_function $<$<CXX_COMPILER_ID:Clang>:-fno-sanitize=function>)
if(MAILFORT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
                      ${_mf_no_function})
  add_link_options(-fsanitize=address,undefined)
endif()
if(MAILFORT_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer ${_mf_no_function})
  add_link_options(-fsanitize=address,undefined)
endif()
