# Writes OUT, a C++ file holding the runtime clients as string constants,
# so that evbusd carries them and writes them into its data directory at
# start (no install paths to get wrong). Called by add_custom_command.
file(READ ${PYTHON_CLIENT} PY)
file(READ ${NODE_CLIENT} JS)
file(WRITE ${OUT} "// Generated from server/functions/runtimes by embed_runtimes.cmake.\n")
file(APPEND ${OUT} "#include \"server/functions/runtime_clients.h\"\n")
file(APPEND ${OUT} "namespace evbus::functions {\n")
file(APPEND ${OUT} "const char kPythonRuntimeClient[] = R\"evbus_rt(${PY})evbus_rt\";\n")
file(APPEND ${OUT} "const char kNodeRuntimeClient[] = R\"evbus_rt(${JS})evbus_rt\";\n")
file(APPEND ${OUT} "}  // namespace evbus::functions\n")
