//! SMS go to the HTTP gateway.
