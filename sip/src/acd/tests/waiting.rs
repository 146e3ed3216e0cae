//! Waiting.

use super::*;
