//! The project's single integration-test binary; each area adds its own module.

mod sim;
