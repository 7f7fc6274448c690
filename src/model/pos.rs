//! The POS terminal's connectivity (POS_INFO_STATUS), relayed by its cabinet.

use super::event::{Event, EventKind};
use super::world::World;
use crate::clock::Millis;
use crate::error::{Error, Result};

impl World {
    /// The POS terminal of `cabinet` connects or drops; POS_INFO_STATUS when it changes.
    ///
    /// The cabinet relays its terminal's state, so an offline cabinet cannot report it
    /// (`2004`), and a cabinet without a terminal has nothing to report.
    pub fn set_pos_online(&mut self, cabinet: &str, online: bool, now: Millis, out: &mut Vec<Event>) -> Result<()> {
        let cab = self.cabinets.get_mut(cabinet).ok_or_else(Error::unbound_device)?;
        if cab.pos_device_id.is_empty() {
            return Err(Error::control(format!("Cabinet {cabinet} has no POS terminal.")));
        }
        if !cab.online {
            return Err(Error::device_offline());
        }
        if cab.pos_online == online {
            return Ok(());
        }
        cab.pos_online = online;
        let (agent, pos_sn) = (cab.agent.clone(), cab.pos_device_id.to_string());
        self.emit(out, now, &agent, EventKind::PosStatus { cabinet: cabinet.to_string(), pos_sn, online });
        Ok(())
    }
}
