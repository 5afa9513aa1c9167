//! The FIB (forwarding information base) and the route cache in front of it.
//!
//! This is the router walk-through of the seed notes played out in code. A packet for `dst`
//! is matched against every route's prefix and the *longest prefix match* wins: a `/32` host
//! route beats a `/24` network, which beats the `/0` *default gateway* that matches
//! everything. The winning route says how to reach the destination: it is one of our own
//! addresses ([`RouteKind::Local`]: deliver up the stack), it is on a *directly connected*
//! network ([`RouteKind::Connected`]: the next hop is `dst` itself, ARP for it on that
//! interface), or it lies *via a gateway* ([`RouteKind::Gateway`]: the next hop is the
//! gateway, which must itself be directly connected). [`Fib::resolve`] turns that into a
//! [`NextHop`].
//!
//! The FIB is a path-compressed binary trie (a PATRICIA trie, the shape of Linux's
//! `fib_trie` without its level compression). Each node holds a prefix and a length; a node
//! either carries a route or is a "glue" node with exactly two children where two prefixes
//! part ways. A lookup walks down at most 33 nodes (one per prefix length), remembering the
//! last route that matched: its cost is bounded by the address length, not by the number of
//! routes (no linear scan). With `R` routes there are at most `2R - 1` nodes, which is why
//! [`nodes_for`] asks for twice as many nodes as routes.
//!
//! Nothing here allocates: the caller owns the memory. [`Fib::new`] takes two slices (an
//! arena of [`Node`]s and one of [`RouteSlot`]s) that the kernel side allocates with its own
//! allocator, at whatever size, and that host tests take from arrays or `Vec`s. Every change
//! bumps [`Fib::generation`].
//!
//! [`RouteCache`] is a small two-way set-associative hash table keyed by destination address
//! that sits in front of the FIB, as the old Linux IPv4 route cache did. Each entry remembers
//! the generation of the FIB it was computed from, so any change to the FIB invalidates every
//! entry at once, without touching them.

use super::super::wire::Ipv4Address;
use core::fmt;

/// Index meaning "no node" / "no route" in the arenas.
const NIL: u32 = u32::MAX;

/// Longest prefix length.
pub const MAX_LEN: u8 = 32;

/// Number of trie nodes that always suffices for `routes` routes (`2 * routes`): with a node
/// arena this large, [`FibError::Full`] only ever means the route arena is full.
pub const fn nodes_for(routes: usize) -> usize {
    routes.saturating_mul(2)
}

/// The netmask of a prefix length, as a host-order integer (`len` above 32 counts as 32).
pub const fn mask(len: u8) -> u32 {
    match u32::MAX.checked_shl(32u32.saturating_sub(len as u32)) {
        Some(m) => m,
        None => 0,
    }
}

/// Bit `pos` of `v`, counting from the most significant bit (0 for `pos >= 32`).
fn bit(v: u32, pos: u8) -> usize {
    match v.checked_shr(31u32.wrapping_sub(u32::from(pos))) {
        Some(b) => (b & 1) as usize,
        None => 0,
    }
}

/// Length of the common leading bits of `a` and `b`, at most `max`.
fn common_len(a: u32, b: u32, max: u8) -> u8 {
    let lz = (a ^ b).leading_zeros();
    if lz < u32::from(max) {
        lz as u8
    } else {
        max
    }
}

/// How a route's destinations are reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// One of our own addresses: deliver locally.
    Local,
    /// A directly connected network: the next hop is the destination itself.
    Connected {
        /// The interface the network is on.
        ifindex: i32,
    },
    /// A network reached via a gateway on a directly connected network.
    Gateway {
        /// The gateway's address.
        via: Ipv4Address,
        /// The interface the gateway is on.
        ifindex: i32,
    },
}

/// A route: a prefix and how to reach the addresses it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The network address (no bits set beyond `len`).
    pub prefix: Ipv4Address,
    /// The prefix length, 0 (the default route) to 32 (a host route).
    pub len: u8,
    /// How the prefix is reached.
    pub kind: RouteKind,
    /// The route's metric, kept for display (one route per prefix, so it never competes).
    pub metric: u32,
}

impl Route {
    /// A route to `prefix/len` of the given kind, metric 0.
    pub const fn new(prefix: Ipv4Address, len: u8, kind: RouteKind) -> Self {
        Route {
            prefix,
            len,
            kind,
            metric: 0,
        }
    }

    /// True if `addr` lies inside this route's prefix.
    pub fn contains(&self, addr: Ipv4Address) -> bool {
        (addr.to_u32() ^ self.prefix.to_u32()) & mask(self.len) == 0
    }

    /// The interface of a connected or gateway route (`None` for a local route).
    pub fn ifindex(&self) -> Option<i32> {
        match self.kind {
            RouteKind::Local => None,
            RouteKind::Connected { ifindex } | RouteKind::Gateway { ifindex, .. } => Some(ifindex),
        }
    }
}

/// Why the FIB refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FibError {
    /// No free node or route slot is left in the arenas.
    Full,
    /// [`Fib::add`]: a route for this prefix and length is already there.
    Exists,
    /// No route for this prefix and length.
    NotFound,
    /// The length is above 32, or the prefix has bits set beyond it.
    BadPrefix,
}

impl fmt::Display for FibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FibError::Full => "FIB full",
            FibError::Exists => "route exists",
            FibError::NotFound => "no such route",
            FibError::BadPrefix => "bad prefix",
        })
    }
}

/// Why a destination could not be resolved to a next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No route matches (and there is no default route).
    NoRoute,
    /// The matching route goes via a gateway that is not on a network directly connected to
    /// the route's interface.
    GatewayUnreachable,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::NoRoute => "no route to host",
            RouteError::GatewayUnreachable => "gateway unreachable",
        })
    }
}

/// Where to send a packet: the result of resolving a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// The outgoing interface (0 for local delivery, which has none).
    pub ifindex: i32,
    /// The gateway to hand the packet to, or `None` if the destination is directly connected
    /// (or local).
    pub gateway: Option<Ipv4Address>,
    /// True if the destination is one of our own addresses.
    pub local: bool,
}

impl NextHop {
    /// The address whose link-layer address is needed to send to `dst`: the gateway if
    /// there is one, else `dst` itself.
    pub fn neighbor(&self, dst: Ipv4Address) -> Ipv4Address {
        self.gateway.unwrap_or(dst)
    }
}

/// A trie node. Arenas of nodes are created with [`Node::EMPTY`] and handed to [`Fib::new`].
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// The prefix (host order, no bits beyond its length).
    key: u32,
    /// Children by the bit after the prefix; `child[0]` links the free list.
    child: [u32; 2],
    /// The prefix length (top 6 bits) and the index of this node's route in the route arena
    /// (low 26 bits; `ROUTE_NIL` for a glue node): 16-byte nodes, four to a cache line.
    meta: u32,
}

/// Route index of a glue node.
const ROUTE_NIL: u32 = (1 << 26) - 1;

/// Most routes a FIB holds, whatever the size of its route arena (2^26 - 1: a node keeps its
/// route index in 26 bits).
pub const MAX_ROUTES: usize = ROUTE_NIL as usize;

impl Node {
    /// An unused node.
    pub const EMPTY: Node = Node {
        key: 0,
        child: [NIL, NIL],
        meta: ROUTE_NIL,
    };

    /// A node for `key/len` with the route at index `route` (or `NIL`).
    fn make(key: u32, len: u8, route: u32) -> Node {
        Node {
            key,
            child: [NIL, NIL],
            meta: (u32::from(len) << 26) | (route & ROUTE_NIL),
        }
    }

    /// The prefix length.
    fn len(&self) -> u8 {
        (self.meta >> 26) as u8
    }

    /// The route's index in the route arena, or `NIL` for a glue node.
    fn route(&self) -> u32 {
        let r = self.meta & ROUTE_NIL;
        if r == ROUTE_NIL {
            NIL
        } else {
            r
        }
    }

    /// Sets the route's index (`NIL` makes a glue node).
    fn set_route(&mut self, route: u32) {
        self.meta = (self.meta & !ROUTE_NIL) | (route & ROUTE_NIL);
    }
}

impl Default for Node {
    fn default() -> Self {
        Node::EMPTY
    }
}

/// A slot of the route arena. Arenas are created with [`RouteSlot::EMPTY`] and handed to
/// [`Fib::new`].
#[derive(Clone, Copy, Debug)]
pub struct RouteSlot {
    route: Option<Route>,
    next_free: u32,
}

impl RouteSlot {
    /// An unused route slot.
    pub const EMPTY: RouteSlot = RouteSlot {
        route: None,
        next_free: NIL,
    };
}

impl Default for RouteSlot {
    fn default() -> Self {
        RouteSlot::EMPTY
    }
}

/// Where a node hangs: the root pointer or a child pointer of another node.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Child(u32, usize),
}

/// The FIB: routes in a PATRICIA trie over caller-provided arenas.
pub struct Fib<'a> {
    nodes: &'a mut [Node],
    routes: &'a mut [RouteSlot],
    root: u32,
    free_node: u32,
    free_nodes: usize,
    free_route: u32,
    free_routes: usize,
    count: usize,
    generation: u64,
}

/// The bookkeeping of a [`Fib`] apart from its arenas, so that an owner can keep the arenas
/// and this small record side by side and reopen the FIB over them for each use
/// ([`Fib::state`], [`Fib::reopen`]) instead of holding a borrowing `Fib` for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibState {
    root: u32,
    free_node: u32,
    free_nodes: usize,
    free_route: u32,
    free_routes: usize,
    count: usize,
    generation: u64,
}

impl<'a> Fib<'a> {
    /// The bookkeeping to hand back to [`Fib::reopen`] with the same arenas.
    pub fn state(&self) -> FibState {
        FibState {
            root: self.root,
            free_node: self.free_node,
            free_nodes: self.free_nodes,
            free_route: self.free_route,
            free_routes: self.free_routes,
            count: self.count,
            generation: self.generation,
        }
    }

    /// Reopens a FIB over the arenas it was built on, with the state [`Fib::state`] returned
    /// after its last change. Other arenas, or a stale state, give wrong answers (never
    /// undefined behaviour: every index is checked).
    pub fn reopen(nodes: &'a mut [Node], routes: &'a mut [RouteSlot], state: FibState) -> Self {
        Fib {
            nodes,
            routes,
            root: state.root,
            free_node: state.free_node,
            free_nodes: state.free_nodes,
            free_route: state.free_route,
            free_routes: state.free_routes,
            count: state.count,
            generation: state.generation,
        }
    }

    /// An empty FIB over the given arenas (their contents are overwritten). It holds up to
    /// `routes.len()` routes as long as there are nodes for them: [`nodes_for`] nodes always
    /// suffice. Takes time linear in the arena sizes.
    pub fn new(nodes: &'a mut [Node], routes: &'a mut [RouteSlot]) -> Self {
        let mut fib = Fib {
            nodes,
            routes,
            root: NIL,
            free_node: NIL,
            free_nodes: 0,
            free_route: NIL,
            free_routes: 0,
            count: 0,
            generation: 0,
        };
        fib.reset();
        fib
    }

    /// Rebuilds both free lists over the whole arenas and empties the trie.
    fn reset(&mut self) {
        // Indices must fit below NIL (nodes) and ROUTE_NIL (routes); the rest is never used.
        let max = NIL as usize;
        let n = self.nodes.len().min(max);
        for (i, node) in self.nodes.iter_mut().take(n).enumerate() {
            let next = i.wrapping_add(1);
            *node = Node::EMPTY;
            node.child[0] = if next < n { next as u32 } else { NIL };
        }
        let r = self.routes.len().min(MAX_ROUTES);
        for (i, slot) in self.routes.iter_mut().take(r).enumerate() {
            let next = i.wrapping_add(1);
            *slot = RouteSlot::EMPTY;
            slot.next_free = if next < r { next as u32 } else { NIL };
        }
        self.root = NIL;
        self.free_node = if n > 0 { 0 } else { NIL };
        self.free_nodes = n;
        self.free_route = if r > 0 { 0 } else { NIL };
        self.free_routes = r;
        self.count = 0;
    }

    /// Removes every route.
    pub fn clear(&mut self) {
        self.reset();
        self.bump();
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if there are no routes.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Most routes this FIB can hold: the size of the route arena, up to [`MAX_ROUTES`].
    pub fn capacity(&self) -> usize {
        self.routes.len().min(MAX_ROUTES)
    }

    /// Counter bumped by every change: a route cache compares it with the generation its
    /// entries were computed from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)
    }

    fn route_at(&self, i: u32) -> Option<&Route> {
        self.routes.get(i as usize)?.route.as_ref()
    }

    /// Points `link` at node `to`.
    fn set_link(&mut self, link: Link, to: u32) {
        match link {
            Link::Root => self.root = to,
            Link::Child(n, b) => {
                if let Some(c) = self
                    .nodes
                    .get_mut(n as usize)
                    .and_then(|n| n.child.get_mut(b))
                {
                    *c = to;
                }
            }
        }
    }

    /// Fails with [`FibError::Full`] unless `nodes` nodes and `routes` route slots are free.
    fn reserve(&self, nodes: usize, routes: usize) -> Result<(), FibError> {
        if self.free_nodes < nodes || self.free_routes < routes {
            Err(FibError::Full)
        } else {
            Ok(())
        }
    }

    /// Takes a node off the free list (the caller has reserved it).
    fn alloc_node(&mut self, key: u32, len: u8, route: u32) -> Result<u32, FibError> {
        let i = self.free_node;
        let node = self.nodes.get_mut(i as usize).ok_or(FibError::Full)?;
        self.free_node = node.child[0];
        self.free_nodes = self.free_nodes.saturating_sub(1);
        *node = Node::make(key, len, route);
        Ok(i)
    }

    fn free_node(&mut self, i: u32) {
        let head = self.free_node;
        if let Some(node) = self.nodes.get_mut(i as usize) {
            *node = Node::EMPTY;
            node.child[0] = head;
            self.free_node = i;
            self.free_nodes = self.free_nodes.saturating_add(1);
        }
    }

    /// Takes a route slot off the free list and stores `route` in it.
    fn alloc_route(&mut self, route: Route) -> Result<u32, FibError> {
        let i = self.free_route;
        let slot = self.routes.get_mut(i as usize).ok_or(FibError::Full)?;
        self.free_route = slot.next_free;
        self.free_routes = self.free_routes.saturating_sub(1);
        *slot = RouteSlot {
            route: Some(route),
            next_free: NIL,
        };
        Ok(i)
    }

    fn free_route(&mut self, i: u32) -> Option<Route> {
        let head = self.free_route;
        let slot = self.routes.get_mut(i as usize)?;
        let old = slot.route.take();
        slot.next_free = head;
        self.free_route = i;
        self.free_routes = self.free_routes.saturating_add(1);
        old
    }

    /// Checks a prefix: the length is at most 32 and no host bits are set.
    fn check(prefix: Ipv4Address, len: u8) -> Result<u32, FibError> {
        let key = prefix.to_u32();
        if len > MAX_LEN || key & !mask(len) != 0 {
            Err(FibError::BadPrefix)
        } else {
            Ok(key)
        }
    }

    /// Adds a route, or replaces the route for the same prefix and length, which is
    /// returned.
    pub fn insert(&mut self, route: Route) -> Result<Option<Route>, FibError> {
        self.insert_inner(route, true)
    }

    /// Adds a route; fails with [`FibError::Exists`] if the prefix and length already have
    /// one.
    pub fn add(&mut self, route: Route) -> Result<(), FibError> {
        self.insert_inner(route, false).map(|_| ())
    }

    fn insert_inner(&mut self, route: Route, replace: bool) -> Result<Option<Route>, FibError> {
        let key = Self::check(route.prefix, route.len)?;
        let len = route.len;
        let mut link = Link::Root;
        let mut cur = self.root;
        loop {
            let Some(node) = self.node(cur).copied() else {
                // An empty subtree: the route becomes a leaf here.
                self.reserve(1, 1)?;
                let r = self.alloc_route(route)?;
                let n = self.alloc_node(key, len, r)?;
                self.set_link(link, n);
                break;
            };
            let common = common_len(key, node.key, len.min(node.len()));
            if common == node.len() {
                if node.len() == len {
                    // This very prefix: a glue node gets a route, a route is replaced.
                    if let Some(slot) = self.routes.get_mut(node.route() as usize) {
                        if !replace {
                            return Err(FibError::Exists);
                        }
                        let old = slot.route.replace(route);
                        self.bump();
                        return Ok(old);
                    }
                    self.reserve(0, 1)?;
                    let r = self.alloc_route(route)?;
                    if let Some(n) = self.nodes.get_mut(cur as usize) {
                        n.set_route(r);
                    }
                    break;
                }
                // The node's prefix covers ours: go down.
                let b = bit(key, node.len());
                link = Link::Child(cur, b);
                cur = node.child.get(b).copied().unwrap_or(NIL);
                continue;
            }
            if common == len {
                // Our prefix covers the node's: the new node goes above it.
                self.reserve(1, 1)?;
                let r = self.alloc_route(route)?;
                let n = self.alloc_node(key, len, r)?;
                if let Some(c) = self
                    .nodes
                    .get_mut(n as usize)
                    .and_then(|n| n.child.get_mut(bit(node.key, len)))
                {
                    *c = cur;
                }
                self.set_link(link, n);
                break;
            }
            // The prefixes part ways at bit `common`: a glue node holds both.
            self.reserve(2, 1)?;
            let r = self.alloc_route(route)?;
            let leaf = self.alloc_node(key, len, r)?;
            let glue = self.alloc_node(key & mask(common), common, NIL)?;
            if let Some(g) = self.nodes.get_mut(glue as usize) {
                if let Some(c) = g.child.get_mut(bit(key, common)) {
                    *c = leaf;
                }
                if let Some(c) = g.child.get_mut(bit(node.key, common)) {
                    *c = cur;
                }
            }
            self.set_link(link, glue);
            break;
        }
        self.count = self.count.saturating_add(1);
        self.bump();
        Ok(None)
    }

    /// Removes the route for `prefix/len` and returns it.
    pub fn delete(&mut self, prefix: Ipv4Address, len: u8) -> Result<Route, FibError> {
        let key = Self::check(prefix, len)?;
        let mut parent = NIL;
        let mut parent_link = Link::Root;
        let mut link = Link::Root;
        let mut cur = self.root;
        let node = loop {
            let node = *self.node(cur).ok_or(FibError::NotFound)?;
            if node.len() > len || (key ^ node.key) & mask(node.len()) != 0 {
                return Err(FibError::NotFound);
            }
            if node.len() == len {
                break node;
            }
            let b = bit(key, node.len());
            parent_link = link;
            parent = cur;
            link = Link::Child(cur, b);
            cur = node.child.get(b).copied().unwrap_or(NIL);
        };
        if node.route() == NIL {
            return Err(FibError::NotFound);
        }
        let old = self.free_route(node.route()).ok_or(FibError::NotFound)?;
        if let Some(n) = self.nodes.get_mut(cur as usize) {
            n.set_route(NIL);
        }
        match node.child {
            [NIL, NIL] => {
                // A leaf goes; a glue parent left with one child goes too.
                self.set_link(link, NIL);
                self.free_node(cur);
                if let Some(p) = self.node(parent).copied() {
                    if p.route() == NIL {
                        let other = if p.child[0] == NIL {
                            p.child[1]
                        } else {
                            p.child[0]
                        };
                        self.set_link(parent_link, other);
                        self.free_node(parent);
                    }
                }
            }
            [c, NIL] | [NIL, c] => {
                // One child: it takes the node's place.
                self.set_link(link, c);
                self.free_node(cur);
            }
            _ => {} // Two children: the node stays as glue.
        }
        self.count = self.count.saturating_sub(1);
        self.bump();
        Ok(old)
    }

    /// Removes every route through interface `ifindex` (when it goes down or away) and
    /// returns how many were removed.
    pub fn remove_ifindex(&mut self, ifindex: i32) -> usize {
        let mut removed = 0usize;
        for i in 0..self.routes.len() {
            let Some(r) = self.routes.get(i).and_then(|s| s.route) else {
                continue;
            };
            if r.ifindex() == Some(ifindex) && self.delete(r.prefix, r.len).is_ok() {
                removed = removed.saturating_add(1);
            }
        }
        removed
    }

    /// The route for exactly `prefix/len`, if there is one.
    pub fn get(&self, prefix: Ipv4Address, len: u8) -> Option<&Route> {
        let key = Self::check(prefix, len).ok()?;
        let mut cur = self.root;
        loop {
            let node = self.node(cur)?;
            if node.len() > len || (key ^ node.key) & mask(node.len()) != 0 {
                return None;
            }
            if node.len() == len {
                return self.route_at(node.route());
            }
            cur = node.child.get(bit(key, node.len())).copied()?;
        }
    }

    /// The route with the longest prefix containing `dst`, if any.
    pub fn lookup(&self, dst: Ipv4Address) -> Option<&Route> {
        let key = dst.to_u32();
        let mut best = NIL;
        let mut cur = self.root;
        while let Some(node) = self.nodes.get(cur as usize) {
            if (key ^ node.key) & mask(node.len()) != 0 {
                break;
            }
            if node.route() != NIL {
                best = node.route();
            }
            // A /32 node has no children: its child slots hold NIL, which ends the walk.
            cur = node.child.get(bit(key, node.len())).copied().unwrap_or(NIL);
        }
        self.route_at(best)
    }

    /// Resolves `dst` to a next hop: a local route means local delivery, a connected route
    /// means `dst` itself on that interface, and a gateway route means the gateway, which is
    /// looked up in turn and must match a connected route on the same interface (else
    /// [`RouteError::GatewayUnreachable`]; gateways are not followed recursively).
    pub fn resolve(&self, dst: Ipv4Address) -> Result<NextHop, RouteError> {
        match self.lookup(dst).ok_or(RouteError::NoRoute)?.kind {
            RouteKind::Local => Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true,
            }),
            RouteKind::Connected { ifindex } => Ok(NextHop {
                ifindex,
                gateway: None,
                local: false,
            }),
            RouteKind::Gateway { via, ifindex } => match self.lookup(via).map(|r| r.kind) {
                Some(RouteKind::Connected { ifindex: on }) if on == ifindex => Ok(NextHop {
                    ifindex,
                    gateway: Some(via),
                    local: false,
                }),
                _ => Err(RouteError::GatewayUnreachable),
            },
        }
    }

    /// The route with the longest prefix containing `dst` that may carry a packet out of
    /// interface `oif` (a socket bound with SO_BINDTODEVICE): a route through `oif`, or a
    /// local route. Routes through other interfaces are passed over, as `fib_table_lookup`
    /// skips next hops whose device is not the flow's `flowi4_oif`.
    pub fn lookup_oif(&self, dst: Ipv4Address, oif: i32) -> Option<&Route> {
        let key = dst.to_u32();
        let mut best = None;
        let mut cur = self.root;
        while let Some(node) = self.nodes.get(cur as usize) {
            if (key ^ node.key) & mask(node.len()) != 0 {
                break;
            }
            if let Some(r) = self.route_at(node.route()) {
                if r.ifindex().is_none_or(|i| i == oif) {
                    best = Some(r);
                }
            }
            cur = node.child.get(bit(key, node.len())).copied().unwrap_or(NIL);
        }
        best
    }

    /// [`Fib::resolve`] for a flow bound to interface `oif`. With no route through `oif`,
    /// the destination is taken to be on that link, as `ip_route_output_key_hash_rcu` does
    /// ("routing tables are wrong; assume the destination is on link").
    pub fn resolve_oif(&self, dst: Ipv4Address, oif: i32) -> Result<NextHop, RouteError> {
        let on_link = NextHop {
            ifindex: oif,
            gateway: None,
            local: false,
        };
        let Some(route) = self.lookup_oif(dst, oif) else {
            return Ok(on_link);
        };
        match route.kind {
            RouteKind::Local => Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true,
            }),
            RouteKind::Connected { .. } => Ok(on_link),
            RouteKind::Gateway { via, .. } => match self.lookup_oif(via, oif).map(|r| r.kind) {
                Some(RouteKind::Connected { .. }) => Ok(NextHop {
                    gateway: Some(via),
                    ..on_link
                }),
                _ => Err(RouteError::GatewayUnreachable),
            },
        }
    }

    /// The routes in prefix order (shorter prefixes first among equal addresses), for
    /// display. A display that resumes at position `pos` uses `iter().nth(pos)`.
    pub fn iter(&self) -> Iter<'_, 'a> {
        let mut it = Iter {
            fib: self,
            stack: [NIL; STACK],
            depth: 0,
        };
        it.push(self.root);
        it
    }
}

/// Depth of the iteration stack: one pending sibling per prefix length, and some room.
const STACK: usize = 40;

/// Iterator over a FIB's routes in prefix order: see [`Fib::iter`].
pub struct Iter<'f, 'a> {
    fib: &'f Fib<'a>,
    stack: [u32; STACK],
    depth: usize,
}

impl Iter<'_, '_> {
    fn push(&mut self, n: u32) {
        if n == NIL {
            return;
        }
        if let Some(s) = self.stack.get_mut(self.depth) {
            *s = n;
            self.depth = self.depth.saturating_add(1);
        }
    }
}

impl<'f> Iterator for Iter<'f, '_> {
    type Item = &'f Route;

    fn next(&mut self) -> Option<&'f Route> {
        let fib = self.fib;
        loop {
            self.depth = self.depth.checked_sub(1)?;
            let n = *self.stack.get(self.depth)?;
            let node = fib.node(n)?;
            self.push(node.child[1]);
            self.push(node.child[0]);
            if let Some(r) = fib.route_at(node.route()) {
                return Some(r);
            }
        }
    }
}

/// One entry of the route cache.
#[derive(Clone, Copy)]
struct CacheEntry {
    dst: u32,
    generation: u64,
    valid: bool,
    result: Result<NextHop, RouteError>,
}

impl CacheEntry {
    const EMPTY: CacheEntry = CacheEntry {
        dst: 0,
        generation: 0,
        valid: false,
        result: Err(RouteError::NoRoute),
    };
}

/// Counters of a [`RouteCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the FIB.
    pub misses: u64,
    /// Times the cache saw that the FIB had changed, which invalidated every entry.
    pub invalidations: u64,
}

/// A two-way set-associative cache of resolved destinations in front of one [`Fib`]: `N`
/// sets of two entries, so `2 * N` destinations.
///
/// A destination hashes to one set; each set keeps its most recently used entry first and
/// evicts the other on a miss. An entry is used only if its generation equals the FIB's, so
/// any change to the FIB invalidates the whole cache at once. Failures (no route,
/// unreachable gateway) are cached too. A cache belongs to one FIB: used with another, it
/// may answer from the wrong one.
pub struct RouteCache<const N: usize> {
    sets: [[CacheEntry; 2]; N],
    seen_generation: u64,
    stats: CacheStats,
}

impl<const N: usize> Default for RouteCache<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RouteCache<N> {
    /// An empty cache.
    pub const fn new() -> Self {
        RouteCache {
            sets: [[CacheEntry::EMPTY; 2]; N],
            seen_generation: 0,
            stats: CacheStats {
                hits: 0,
                misses: 0,
                invalidations: 0,
            },
        }
    }

    /// The set for `dst`: Fibonacci hashing (multiply by 2^32 / phi), then the high bits
    /// of `hash * N` select one of the `N` sets, for any `N`.
    fn set_of(dst: u32) -> usize {
        let h = dst.wrapping_mul(0x9e37_79b1);
        ((u64::from(h)).wrapping_mul(N as u64) >> 32) as usize
    }

    /// Resolves `dst` as [`Fib::resolve`] does, from the cache when it can.
    pub fn resolve(&mut self, fib: &Fib<'_>, dst: Ipv4Address) -> Result<NextHop, RouteError> {
        let generation = fib.generation();
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.stats.invalidations = self.stats.invalidations.wrapping_add(1);
        }
        let key = dst.to_u32();
        let fresh = |e: &CacheEntry| e.valid && e.generation == generation;
        let Some([first, second]) = self.sets.get_mut(Self::set_of(key)) else {
            self.stats.misses = self.stats.misses.wrapping_add(1);
            return fib.resolve(dst);
        };
        if fresh(first) && first.dst == key {
            self.stats.hits = self.stats.hits.wrapping_add(1);
            return first.result;
        }
        if fresh(second) && second.dst == key {
            // The second entry becomes the most recently used.
            core::mem::swap(first, second);
            self.stats.hits = self.stats.hits.wrapping_add(1);
            return first.result;
        }
        self.stats.misses = self.stats.misses.wrapping_add(1);
        let result = fib.resolve(dst);
        if fresh(first) {
            // Evict the least recently used entry.
            *second = *first;
        }
        *first = CacheEntry {
            dst: key,
            generation,
            valid: true,
            result,
        };
        result
    }

    /// The next hop for `dst`, from the cache when it can; `None` if unroutable.
    pub fn lookup(&mut self, fib: &Fib<'_>, dst: Ipv4Address) -> Option<NextHop> {
        self.resolve(fib, dst).ok()
    }

    /// Forgets every entry (the counters stay).
    pub fn flush(&mut self) {
        self.sets = [[CacheEntry::EMPTY; 2]; N];
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Hits per thousand lookups (0 before any lookup). Integer, as the kernel has no
    /// floating point.
    pub fn hit_rate_permille(&self) -> u64 {
        let total = self.stats.hits.saturating_add(self.stats.misses);
        self.stats
            .hits
            .saturating_mul(1000)
            .checked_div(total)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reopen_keeps_routes_and_generation() {
        let mut nodes = [Node::EMPTY; 16];
        let mut routes = [RouteSlot::EMPTY; 8];
        let state = {
            let mut fib = Fib::new(&mut nodes, &mut routes);
            fib.add(Route::new(
                Ipv4Address([10, 0, 0, 0]),
                8,
                RouteKind::Connected { ifindex: 2 },
            ))
            .unwrap();
            fib.state()
        };
        let mut fib = Fib::reopen(&mut nodes, &mut routes, state);
        assert_eq!(fib.len(), 1);
        assert_eq!(fib.generation(), state.generation);
        assert_eq!(
            fib.lookup(Ipv4Address([10, 1, 2, 3])).map(|r| r.len),
            Some(8)
        );
        fib.add(Route::new(
            Ipv4Address([0, 0, 0, 0]),
            0,
            RouteKind::Connected { ifindex: 3 },
        ))
        .unwrap();
        assert_ne!(fib.generation(), state.generation);
    }

    use super::super::super::testutil::Rng;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// Arenas for `routes` routes.
    fn arenas(routes: usize) -> (Vec<Node>, Vec<RouteSlot>) {
        (
            vec![Node::EMPTY; nodes_for(routes)],
            vec![RouteSlot::EMPTY; routes],
        )
    }

    fn a(s: &str) -> Ipv4Address {
        let v: Vec<u8> = s.split('.').map(|p| p.parse().unwrap()).collect();
        Ipv4Address::new(v[0], v[1], v[2], v[3])
    }

    fn conn(p: &str, len: u8, ifindex: i32) -> Route {
        Route::new(a(p), len, RouteKind::Connected { ifindex })
    }

    fn gw(p: &str, len: u8, via: &str, ifindex: i32) -> Route {
        Route::new(
            a(p),
            len,
            RouteKind::Gateway {
                via: a(via),
                ifindex,
            },
        )
    }

    /// The reference: a linear scan for the longest matching prefix.
    fn brute(routes: &[Route], dst: Ipv4Address) -> Option<Route> {
        routes
            .iter()
            .filter(|r| r.contains(dst))
            .max_by_key(|r| r.len)
            .copied()
    }

    #[test]
    fn lookup_oif_matches_brute_force() {
        let mut rng = Rng(0x0_1f);
        let (mut nodes, mut slots) = arenas(256);
        let mut fib = Fib::new(&mut nodes, &mut slots);
        let mut all = Vec::new();
        for i in 0..200u32 {
            let mut r = random_route(&mut rng, i);
            // Three interfaces, so that each has routes that others shadow.
            r.kind = RouteKind::Connected {
                ifindex: 2 + (i % 3) as i32,
            };
            if fib.get(r.prefix, r.len).is_none() && fib.add(r).is_ok() {
                all.push(r);
            }
        }
        for _ in 0..5000 {
            let dst = Ipv4Address::from_u32(0x0a00_0000 | (rng.next() as u32 & 0x03ff_ffff));
            for oif in 2..=4 {
                let want = all
                    .iter()
                    .filter(|r| r.contains(dst) && r.ifindex() == Some(oif))
                    .max_by_key(|r| r.len)
                    .copied();
                assert_eq!(fib.lookup_oif(dst, oif).copied(), want, "{dst:?} oif {oif}");
            }
        }
    }

    #[test]
    fn resolve_oif_prefers_the_bound_interface() {
        let (mut nodes, mut slots) = arenas(8);
        let mut fib = Fib::new(&mut nodes, &mut slots);
        fib.add(conn("198.18.1.0", 24, 2)).unwrap();
        fib.add(conn("198.18.2.0", 24, 3)).unwrap();
        fib.add(gw("0.0.0.0", 0, "198.18.1.1", 2)).unwrap();
        fib.add(Route::new(a("198.18.1.5"), 32, RouteKind::Local))
            .unwrap();
        let dst = a("198.19.0.9");
        // Unbound: the default route through interface 2.
        assert_eq!(fib.resolve(dst).unwrap().ifindex, 2);
        // Bound to 3: the default route is passed over; the destination is on link there.
        let nh = fib.resolve_oif(dst, 3).unwrap();
        assert_eq!((nh.ifindex, nh.gateway, nh.local), (3, None, false));
        // Bound to 2: the gateway route, resolved through the connected route on 2.
        let nh = fib.resolve_oif(dst, 2).unwrap();
        assert_eq!((nh.ifindex, nh.gateway), (2, Some(a("198.18.1.1"))));
        // A connected route elsewhere does not capture a bound flow.
        assert_eq!(fib.resolve_oif(a("198.18.2.7"), 2).unwrap().ifindex, 2);
        assert_eq!(fib.resolve_oif(a("198.18.2.7"), 3).unwrap().ifindex, 3);
        // Local addresses stay local whatever the binding.
        assert!(fib.resolve_oif(a("198.18.1.5"), 3).unwrap().local);
    }

    /// A random prefix, lengths skewed towards /16../24 but all 0..=32 appear.
    fn random_route(rng: &mut Rng, i: u32) -> Route {
        let len = match rng.below(10) {
            0 => rng.below(33) as u8,
            1..=2 => 8 + rng.below(9) as u8,
            3..=8 => 16 + rng.below(9) as u8,
            _ => 25 + rng.below(8) as u8,
        };
        // Few distinct top bytes so that prefixes nest and compete.
        let top = (rng.below(4) as u32) << 24 | 0x0a00_0000;
        let key = (top | (rng.next() as u32 & 0x03ff_ffff)) & mask(len);
        Route {
            prefix: Ipv4Address::from_u32(key),
            len,
            kind: RouteKind::Connected { ifindex: i as i32 },
            metric: i,
        }
    }

    #[test]
    fn node_packing() {
        assert_eq!(core::mem::size_of::<Node>(), 16);
        let mut n = Node::make(0x0a00_0000, 32, 5);
        assert_eq!((n.len(), n.route()), (32, 5));
        n.set_route(NIL);
        assert_eq!((n.len(), n.route()), (32, NIL));
        assert_eq!(Node::EMPTY.route(), NIL);
    }

    #[test]
    fn masks_and_bits() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(1), 0x8000_0000);
        assert_eq!(mask(24), 0xffff_ff00);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(200), u32::MAX);
        assert_eq!(bit(0x8000_0000, 0), 1);
        assert_eq!(bit(1, 31), 1);
        assert_eq!(bit(u32::MAX, 32), 0);
        assert_eq!(common_len(0xff00_0000, 0xf000_0000, 32), 4);
        assert_eq!(common_len(7, 7, 32), 32);
        assert_eq!(common_len(7, 7, 5), 5);
    }

    #[test]
    fn router_walk_through() {
        let (mut n, mut r) = arenas(16);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(Route::new(a("192.168.1.10"), 32, RouteKind::Local))
            .unwrap();
        fib.add(conn("192.168.1.0", 24, 2)).unwrap();
        fib.add(gw("10.0.0.0", 8, "192.168.1.254", 2)).unwrap();
        fib.add(gw("0.0.0.0", 0, "192.168.1.1", 2)).unwrap();
        assert_eq!(fib.len(), 4);

        let hop = |fib: &Fib, d: &str| fib.resolve(a(d));
        assert_eq!(
            hop(&fib, "192.168.1.10"),
            Ok(NextHop {
                ifindex: 0,
                gateway: None,
                local: true
            })
        );
        assert_eq!(
            hop(&fib, "192.168.1.77"),
            Ok(NextHop {
                ifindex: 2,
                gateway: None,
                local: false
            })
        );
        assert_eq!(
            hop(&fib, "10.20.30.40").unwrap().gateway,
            Some(a("192.168.1.254"))
        );
        let def = hop(&fib, "8.8.8.8").unwrap();
        assert_eq!(def.gateway, Some(a("192.168.1.1")));
        assert_eq!(def.neighbor(a("8.8.8.8")), a("192.168.1.1"));
        assert_eq!(fib.lookup(a("8.8.8.8")).unwrap().len, 0);

        // Without the default route, the rest of the world is unreachable.
        fib.delete(Ipv4Address::UNSPECIFIED, 0).unwrap();
        assert_eq!(hop(&fib, "8.8.8.8"), Err(RouteError::NoRoute));
        assert!(fib.lookup(a("8.8.8.8")).is_none());
    }

    #[test]
    fn host_routes_beat_networks() {
        let (mut n, mut r) = arenas(8);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.1.0.0", 16, 1)).unwrap();
        fib.add(conn("10.1.2.3", 32, 2)).unwrap();
        fib.add(conn("10.1.2.0", 24, 3)).unwrap();
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().len, 32);
        assert_eq!(fib.lookup(a("10.1.2.4")).unwrap().len, 24);
        assert_eq!(fib.lookup(a("10.1.3.3")).unwrap().len, 16);
        assert!(fib.lookup(a("10.2.0.0")).is_none());
        assert_eq!(fib.get(a("10.1.2.3"), 32).unwrap().ifindex(), Some(2));
        assert!(fib.get(a("10.1.2.0"), 23).is_none());
        fib.delete(a("10.1.2.3"), 32).unwrap();
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().len, 24);
    }

    #[test]
    fn replace_and_exists() {
        let (mut n, mut r) = arenas(4);
        let mut fib = Fib::new(&mut n, &mut r);
        assert_eq!(fib.insert(conn("10.0.0.0", 8, 1)), Ok(None));
        let g = fib.generation();
        assert_eq!(fib.add(conn("10.0.0.0", 8, 2)), Err(FibError::Exists));
        assert_eq!(fib.generation(), g);
        let old = fib.insert(conn("10.0.0.0", 8, 2)).unwrap().unwrap();
        assert_eq!(old.ifindex(), Some(1));
        assert!(fib.generation() > g);
        assert_eq!(fib.len(), 1);
        assert_eq!(fib.lookup(a("10.9.9.9")).unwrap().ifindex(), Some(2));
    }

    #[test]
    fn error_cases() {
        let (mut n, mut r) = arenas(4);
        let mut fib = Fib::new(&mut n, &mut r);
        assert_eq!(fib.add(conn("10.0.0.1", 8, 1)), Err(FibError::BadPrefix));
        assert_eq!(fib.add(conn("10.0.0.0", 33, 1)), Err(FibError::BadPrefix));
        assert_eq!(fib.add(conn("0.0.0.1", 0, 1)), Err(FibError::BadPrefix));
        assert_eq!(
            fib.delete(a("10.0.0.0"), 8).unwrap_err(),
            FibError::NotFound
        );
        assert_eq!(fib.delete(a("10.0.0.1"), 8), Err(FibError::BadPrefix));
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        fib.add(conn("10.1.0.0", 16, 1)).unwrap();
        fib.add(conn("10.2.0.0", 16, 1)).unwrap();
        // The two /16s part ways at bit 14: the glue node 10.0.0.0/14 has no route.
        assert_eq!(fib.delete(a("10.0.0.0"), 14), Err(FibError::NotFound));
        assert_eq!(fib.delete(a("10.3.0.0"), 16), Err(FibError::NotFound));
        assert_eq!(fib.delete(a("10.1.0.0"), 24), Err(FibError::NotFound));
        assert_eq!(fib.generation(), 3);
        assert_eq!(fib.len(), 3);
        assert_eq!(FibError::Full.to_string(), "FIB full");
        assert_eq!(RouteError::NoRoute.to_string(), "no route to host");
    }

    #[test]
    fn glue_node_gets_a_route_then_loses_it() {
        let (mut n, mut r) = arenas(4);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.1.0.0", 16, 1)).unwrap();
        fib.add(conn("10.2.0.0", 16, 2)).unwrap();
        // The glue node 10.0.0.0/14 now exists; a route for it reuses it.
        fib.add(conn("10.0.0.0", 14, 3)).unwrap();
        assert_eq!(fib.free_nodes, 8 - 3);
        assert_eq!(fib.lookup(a("10.3.0.1")).unwrap().ifindex(), Some(3));
        fib.delete(a("10.0.0.0"), 14).unwrap();
        assert_eq!(fib.free_nodes, 8 - 3);
        assert!(fib.lookup(a("10.3.0.1")).is_none());
        fib.delete(a("10.1.0.0"), 16).unwrap();
        // The glue went with the leaf: only one node is left.
        assert_eq!(fib.free_nodes, 8 - 1);
        assert_eq!(fib.lookup(a("10.2.3.4")).unwrap().ifindex(), Some(2));
        fib.delete(a("10.2.0.0"), 16).unwrap();
        assert_eq!((fib.free_nodes, fib.free_routes), (8, 4));
        assert!(fib.is_empty() && fib.root == NIL);
    }

    #[test]
    fn full_arenas() {
        // Routes run out first when nodes are plentiful.
        let (mut n, mut r) = arenas(3);
        let mut fib = Fib::new(&mut n, &mut r);
        for i in 0..3 {
            fib.add(conn(&std::format!("10.{i}.0.0"), 16, 1)).unwrap();
        }
        let g = fib.generation();
        assert_eq!(fib.add(conn("10.9.0.0", 16, 1)), Err(FibError::Full));
        assert_eq!(fib.generation(), g);
        // Replacing needs no new slot.
        assert!(fib.insert(conn("10.1.0.0", 16, 5)).unwrap().is_some());
        fib.delete(a("10.0.0.0"), 16).unwrap();
        fib.add(conn("10.9.0.0", 16, 1)).unwrap();
        assert_eq!(fib.iter().count(), 3);

        // Nodes run out first when they are scarce; nothing changes on failure.
        let mut n = vec![Node::EMPTY; 2];
        let mut r = vec![RouteSlot::EMPTY; 8];
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.0.0.0", 16, 1)).unwrap();
        assert_eq!(fib.add(conn("10.1.0.0", 16, 1)), Err(FibError::Full));
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        assert_eq!(fib.add(conn("10.0.0.0", 24, 1)), Err(FibError::Full));
        assert_eq!((fib.len(), fib.free_routes), (2, 6));
        assert_eq!(fib.iter().count(), 2);

        // Empty arenas hold nothing but never panic.
        let mut fib = Fib::new(&mut [], &mut []);
        assert_eq!(fib.add(conn("0.0.0.0", 0, 1)), Err(FibError::Full));
        assert!(fib.lookup(a("1.2.3.4")).is_none());
        assert_eq!(fib.iter().count(), 0);
        assert_eq!(fib.capacity(), 0);
    }

    #[test]
    fn iteration_is_in_prefix_order() {
        let (mut n, mut r) = arenas(8);
        let mut fib = Fib::new(&mut n, &mut r);
        for (p, l) in [
            ("10.1.0.0", 16),
            ("0.0.0.0", 0),
            ("10.0.0.0", 8),
            ("192.168.0.0", 16),
            ("10.1.0.0", 24),
            ("10.0.0.0", 16),
        ] {
            fib.add(conn(p, l, 1)).unwrap();
        }
        let got: Vec<_> = fib
            .iter()
            .map(|r| std::format!("{}/{}", r.prefix, r.len))
            .collect();
        assert_eq!(
            got,
            [
                "0.0.0.0/0",
                "10.0.0.0/8",
                "10.0.0.0/16",
                "10.1.0.0/16",
                "10.1.0.0/24",
                "192.168.0.0/16"
            ]
        );
        assert_eq!(fib.iter().nth(3).unwrap().len, 16);
        assert!(fib.iter().nth(6).is_none());
    }

    #[test]
    fn lpm_matches_brute_force() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let n_routes = 4000;
        let (mut n, mut r) = arenas(n_routes);
        let mut fib = Fib::new(&mut n, &mut r);
        let mut model: Vec<Route> = Vec::new();
        for i in 0..n_routes as u32 {
            let route = random_route(&mut rng, i);
            let old = fib.insert(route).unwrap();
            let pos = model
                .iter()
                .position(|m| m.prefix == route.prefix && m.len == route.len);
            assert_eq!(old, pos.map(|p| model[p]));
            match pos {
                Some(p) => model[p] = route,
                None => model.push(route),
            }
        }
        assert_eq!(fib.len(), model.len());
        let check = |fib: &Fib, model: &[Route], rng: &mut Rng| {
            for _ in 0..5000 {
                // Half the destinations fall inside some route, the rest anywhere.
                let dst = if rng.below(2) == 0 && !model.is_empty() {
                    let r = model[rng.below(model.len() as u64) as usize];
                    Ipv4Address::from_u32(r.prefix.to_u32() | (rng.next() as u32 & !mask(r.len)))
                } else {
                    Ipv4Address::from_u32(rng.next() as u32)
                };
                assert_eq!(fib.lookup(dst).copied(), brute(model, dst), "dst {dst}");
            }
        };
        check(&fib, &model, &mut rng);

        // Iteration yields every route once, in order.
        let listed: Vec<Route> = fib.iter().copied().collect();
        let mut sorted = model.clone();
        sorted.sort_by_key(|r| (r.prefix.to_u32(), r.len));
        let mut listed_sorted = listed.clone();
        listed_sorted.sort_by_key(|r| (r.prefix.to_u32(), r.len));
        assert_eq!(listed_sorted, sorted);

        // Delete half, check again, re-add others, check again.
        for _ in 0..model.len() / 2 {
            let i = rng.below(model.len() as u64) as usize;
            let r = model.swap_remove(i);
            assert_eq!(fib.delete(r.prefix, r.len), Ok(r));
        }
        assert_eq!(fib.len(), model.len());
        check(&fib, &model, &mut rng);
        for i in 0..1000 {
            let route = random_route(&mut rng, i);
            if fib.insert(route).unwrap().is_none() {
                model.push(route);
            } else if let Some(m) = model
                .iter_mut()
                .find(|m| m.prefix == route.prefix && m.len == route.len)
            {
                *m = route;
            }
        }
        check(&fib, &model, &mut rng);
        // Delete everything: the arenas are whole again.
        for r in model.drain(..) {
            fib.delete(r.prefix, r.len).unwrap();
        }
        assert!(fib.is_empty());
        assert_eq!(fib.free_nodes, nodes_for(n_routes));
        assert_eq!(fib.free_routes, n_routes);
        assert_eq!(fib.root, NIL);
    }

    #[test]
    fn remove_interface_routes() {
        let (mut n, mut r) = arenas(8);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        fib.add(conn("10.1.0.0", 16, 2)).unwrap();
        fib.add(gw("0.0.0.0", 0, "10.1.0.1", 2)).unwrap();
        fib.add(Route::new(a("10.1.0.5"), 32, RouteKind::Local))
            .unwrap();
        assert_eq!(fib.remove_ifindex(2), 2);
        assert_eq!(fib.len(), 2);
        assert_eq!(fib.lookup(a("10.1.2.3")).unwrap().ifindex(), Some(1));
        assert!(fib.lookup(a("11.0.0.0")).is_none());
        fib.clear();
        assert!(fib.is_empty() && fib.lookup(a("10.1.0.5")).is_none());
    }

    #[test]
    fn gateway_must_be_directly_connected() {
        let (mut n, mut r) = arenas(8);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(gw("0.0.0.0", 0, "192.168.1.1", 2)).unwrap();
        // The gateway is only reachable through the default route itself.
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Err(RouteError::GatewayUnreachable)
        );
        fib.add(conn("192.168.1.0", 24, 3)).unwrap();
        // Connected, but on another interface.
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Err(RouteError::GatewayUnreachable)
        );
        fib.insert(conn("192.168.1.0", 24, 2)).unwrap();
        assert_eq!(
            fib.resolve(a("8.8.8.8")),
            Ok(NextHop {
                ifindex: 2,
                gateway: Some(a("192.168.1.1")),
                local: false
            })
        );
        // A gateway behind another gateway is not followed.
        fib.add(gw("172.16.0.0", 12, "10.0.0.1", 2)).unwrap();
        fib.add(gw("10.0.0.0", 8, "192.168.1.2", 2)).unwrap();
        assert!(fib.resolve(a("10.5.5.5")).is_ok());
        assert_eq!(
            fib.resolve(a("172.16.0.9")),
            Err(RouteError::GatewayUnreachable)
        );
        // A local address is no gateway either.
        fib.add(Route::new(a("192.168.1.3"), 32, RouteKind::Local))
            .unwrap();
        fib.add(gw("172.32.0.0", 16, "192.168.1.3", 2)).unwrap();
        assert_eq!(
            fib.resolve(a("172.32.0.9")),
            Err(RouteError::GatewayUnreachable)
        );
    }

    #[test]
    fn cache_hits_misses_and_invalidation() {
        let (mut n, mut r) = arenas(8);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        let mut cache = RouteCache::<32>::new();
        let d = a("10.1.2.3");
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses), (2, 1));
        assert_eq!(cache.hit_rate_permille(), 666);

        // Failures are cached too.
        assert_eq!(cache.resolve(&fib, a("11.0.0.1")), Err(RouteError::NoRoute));
        assert_eq!(cache.resolve(&fib, a("11.0.0.1")), Err(RouteError::NoRoute));
        assert_eq!(cache.stats().hits, 3);

        // A change elsewhere in the FIB still invalidates everything.
        let inv = cache.stats().invalidations;
        fib.add(conn("11.0.0.0", 8, 2)).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.stats().invalidations, inv + 1);
        assert_eq!(cache.stats().misses, 3);
        assert_eq!(cache.lookup(&fib, a("11.0.0.1")).unwrap().ifindex, 2);
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(cache.stats().hits, 4);

        // A more specific route changes the answer at once.
        fib.add(conn("10.1.0.0", 16, 7)).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 7);
        fib.delete(a("10.1.0.0"), 16).unwrap();
        assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);

        cache.flush();
        let misses = cache.stats().misses;
        cache.lookup(&fib, d);
        assert_eq!(cache.stats().misses, misses + 1);

        // A zero-sized cache always misses but still answers.
        let mut none = RouteCache::<0>::new();
        assert_eq!(none.hit_rate_permille(), 0);
        assert_eq!(none.lookup(&fib, d).unwrap().ifindex, 1);
        assert_eq!(none.stats().misses, 1);
    }

    #[test]
    fn cache_sets_are_two_way_lru() {
        let (mut n, mut r) = arenas(2);
        let mut fib = Fib::new(&mut n, &mut r);
        fib.add(conn("10.0.0.0", 8, 1)).unwrap();
        // One set: every destination competes for its two entries.
        let mut cache = RouteCache::<1>::new();
        let (x, y, z) = (a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.3"));
        let misses = |cache: &mut RouteCache<1>, d| {
            let before = cache.stats().misses;
            assert_eq!(cache.lookup(&fib, d).unwrap().ifindex, 1);
            cache.stats().misses - before
        };
        assert_eq!(misses(&mut cache, x), 1);
        assert_eq!(misses(&mut cache, y), 1);
        assert_eq!(misses(&mut cache, x), 0);
        assert_eq!(misses(&mut cache, y), 0);
        // z evicts x, the least recently used.
        assert_eq!(misses(&mut cache, z), 1);
        assert_eq!(misses(&mut cache, y), 0);
        assert_eq!(misses(&mut cache, x), 1);
        assert_eq!(misses(&mut cache, y), 0);
        assert_eq!(misses(&mut cache, z), 1);
    }

    #[test]
    fn cache_agrees_with_fib_under_churn() {
        let mut rng = Rng(42);
        let (mut n, mut r) = arenas(600);
        let mut fib = Fib::new(&mut n, &mut r);
        let mut cache = RouteCache::<64>::new();
        let mut live = Vec::new();
        for i in 0..5000u32 {
            if i % 10 == 0 {
                let route = random_route(&mut rng, i);
                if fib.insert(route).is_ok() {
                    live.push(route);
                }
            } else if i % 37 == 0 && !live.is_empty() {
                let r = live.swap_remove(rng.below(live.len() as u64) as usize);
                let _ = fib.delete(r.prefix, r.len);
            }
            // A small working set of destinations, so that the cache hits.
            let dst = Ipv4Address::from_u32(0x0a00_0000 | (rng.below(64) as u32) << 12);
            assert_eq!(cache.resolve(&fib, dst), fib.resolve(dst));
        }
        assert!(cache.stats().hits > 0 && cache.stats().invalidations > 0);
    }

    /// `cargo test --release -- --ignored --nocapture` prints the lookup cost.
    #[test]
    #[ignore]
    fn bench_100k_routes_1m_lookups() {
        use std::time::Instant;
        let n_routes = 100_000;
        let (mut n, mut r) = arenas(n_routes);
        let mut fib = Fib::new(&mut n, &mut r);
        let mut rng = Rng(7);
        let t = Instant::now();
        while fib.len() < n_routes {
            // A BGP-like mix: mostly /24, some /16../23, a few longer.
            let len = match rng.below(10) {
                0..=5 => 24,
                6..=8 => 16 + rng.below(8) as u8,
                _ => 25 + rng.below(8) as u8,
            };
            let key = rng.next() as u32 & mask(len);
            let route = Route::new(
                Ipv4Address::from_u32(key),
                len,
                RouteKind::Connected { ifindex: 1 },
            );
            fib.insert(route).unwrap();
        }
        std::println!(
            "insert: {} ns/route",
            t.elapsed().as_nanos() / n_routes as u128
        );
        let dsts: Vec<Ipv4Address> = (0..1_000_000)
            .map(|_| Ipv4Address::from_u32(rng.next() as u32))
            .collect();
        let t = Instant::now();
        let mut found = 0u32;
        for &d in &dsts {
            if fib.lookup(std::hint::black_box(d)).is_some() {
                found += 1;
            }
        }
        let ns = t.elapsed().as_nanos() / dsts.len() as u128;
        std::println!("lookup: {ns} ns/lookup ({found} of 1M matched)");

        let mut cache = Box::new(RouteCache::<2048>::new());
        let hot: Vec<Ipv4Address> = (0..1_000_000).map(|i| dsts[i % 1000]).collect();
        let t = Instant::now();
        for &d in &hot {
            std::hint::black_box(cache.lookup(&fib, std::hint::black_box(d)));
        }
        let ns = t.elapsed().as_nanos() / hot.len() as u128;
        std::println!(
            "cached lookup (1000 hot destinations): {ns} ns/lookup, hit rate {} permille",
            cache.hit_rate_permille()
        );
    }

    use std::boxed::Box;
    use std::string::ToString;
}
