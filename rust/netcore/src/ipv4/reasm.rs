//! Fragment reassembly. (Being written.)
