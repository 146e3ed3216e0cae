//! Inputs in any order.

use super::*;
