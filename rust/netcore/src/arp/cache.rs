//! The ARP cache. (Being written.)
