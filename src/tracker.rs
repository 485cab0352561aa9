//! The thread-safe tracker (issue 4). Placeholder.
