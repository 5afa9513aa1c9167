//! The FIB and the route cache. (Being written.)
