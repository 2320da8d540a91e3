# Locates xsimd's headers and defines the imported target ctq_xsimd.
# Debian's own xsimd package config links a bare "xtl" library that does not exist and cannot be
# found when cross compiling, so ctq uses only the header location. The headers detect xsimd with
# __has_include and fall back to the scalar paths where it is absent or has no architecture.
if(NOT TARGET ctq_xsimd)
  find_path(CTQ_XSIMD_INCLUDE_DIR xsimd/xsimd.hpp)
  add_library(ctq_xsimd INTERFACE IMPORTED GLOBAL)
  if(CTQ_XSIMD_INCLUDE_DIR)
    # The compiler's own search path (/usr/include) must never be added by hand: in a cross build
    # that would pull in the host's C library headers.
    if(NOT CTQ_XSIMD_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES
       AND NOT CTQ_XSIMD_INCLUDE_DIR STREQUAL "/usr/include")
      set_target_properties(ctq_xsimd PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CTQ_XSIMD_INCLUDE_DIR}")
    endif()
  else()
    message(WARNING "ctq: xsimd headers not found (Debian: libxsimd-dev); only the scalar paths will be built")
  endif()
endif()
