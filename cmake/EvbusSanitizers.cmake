# EVBUS_SANITIZE=address,undefined | thread adds compile and link flags to
# every target (STYLE.md rule 16).
if(EVBUS_SANITIZE)
  add_compile_options(-fsanitize=${EVBUS_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${EVBUS_SANITIZE})
endif()
