# warnings.cmake: warnings are errors, for every target of ours.
add_compile_options(-Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 false positives in std::string / Asio inlining at -O2.
  add_compile_options(-Wno-maybe-uninitialized -Wno-restrict -Wno-array-bounds -Wno-stringop-overflow)
endif()
if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # In a unity build every .cpp but the first is an included file, and GCC 12 then warns that a coroutine
  # frame holding a type from the anonymous namespace "has internal linkage in another file". It is one
  # translation unit, so there is nothing to clash with.
  add_compile_options(-Wno-subobject-linkage)
endif()
