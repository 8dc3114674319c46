//! Tunnel headers (GRE/ERSPAN/PPTP, VXLAN, Geneve, GTPv1-U, AYIYA, Teredo)
//! and the inner packet they yield. Input: `[kind selector][tunnel bytes]`.
#![no_main]
use connscope::decode::tunnel::{self, Inner, InnerLink};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fn inner(b: &[u8], i: Inner<'_>) {
    assert!(i.data.len() <= b.len());
    match i.link {
        InnerLink::Ethernet => {
            let lt = connscope::capture::linktype::ETHERNET;
            if let Ok(Some(l3)) = connscope::decode::link::decode(lt, i.data) {
                common::ip_and_transport(l3.ip, l3.ip.len(), true);
            }
        }
        InnerLink::Ip | InnerLink::IpExact => common::ip_and_transport(i.data, i.data.len(), true),
    }
}

fn decap(b: &[u8], d: tunnel::Decap<'_>) {
    if let tunnel::Decap::Ok { inner: Some(i), .. } = d {
        inner(b, i)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, b)) = data.split_first() else {
        return;
    };
    match sel % 6 {
        0 => {
            if let Ok(i) = tunnel::gre(b) {
                inner(b, i)
            }
        }
        1 => decap(b, tunnel::vxlan(b)),
        2 => decap(b, tunnel::geneve(b)),
        3 => decap(b, tunnel::gtpv1(b)),
        4 => {
            let _ = tunnel::ayiya_detect(b);
            decap(b, tunnel::ayiya(b))
        }
        _ => {
            let _ = tunnel::teredo_detect(b);
            decap(b, tunnel::teredo(b))
        }
    }
});
