# One warning list for our own targets (STYLE.md rule 15). Generated protobuf
# code is compiled in proto/ without these flags.
set(EVBUS_WARNING_FLAGS
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-qual -Wformat=2
  -Wmissing-declarations -Wundef -Wvla -Wimplicit-fallthrough
  # Designated initializers that rely on member defaults are idiomatic here.
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND EVBUS_WARNING_FLAGS -Wthread-safety)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 at -O3 reports impossible overlaps inside std::string's inlined
  # memcpy for plain `"literal" + std::string` (GCC bug 105329/105651): a
  # false positive in libstdc++, not in our code.
  list(APPEND EVBUS_WARNING_FLAGS -Wno-restrict)
endif()
if(EVBUS_WERROR)
  list(APPEND EVBUS_WARNING_FLAGS -Werror)
endif()
