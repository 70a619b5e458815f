// The live dashboard reads the server; CI artifacts replace this file with the recorded journal.
window.EMULATOR_STATIC = null;
