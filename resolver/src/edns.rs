//! EDNS0 (RFC 6891) constants shared by the server side (answers, request
//! parsing) and the upstream side (forwarding), so neither imports the other.

/// The EDNS0 UDP payload size we advertise and answer with (DNS flag day
/// 2020): upstream queries offer it, and no UDP answer to a client is larger.
pub const EDNS_BUFFER: u16 = 1232;
