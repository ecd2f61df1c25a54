package backend

// SplitChunks exposes how the scripted backend cuts a reply into streamed
// chunks, for the external tests that stream the same way.
var SplitChunks = splitChunks
