package store

// ExecLater is execLater, for tests.
var ExecLater = execLater
