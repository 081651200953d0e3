//! Configuration. Stub: see the interface in the helper brief.
