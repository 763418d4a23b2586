//! The one way meshgen spreads work over threads (`generate`'s plan and its writes): as many
//! scoped threads as the machine runs at once, never more than there are items, each taking
//! every n-th item so that big and small platforms mix.

/// Runs `work` on each thread with its share of `items` (thread t of n gets items t, t+n,
/// t+2n, ..., with their indexes) and returns each thread's result, in thread order. `what`
/// names the work in the panic message should a thread panic.
pub fn split<T, R>(
    items: &[T],
    what: &str,
    work: impl Fn(&mut dyn Iterator<Item = (usize, &T)>) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().max(1));
    if threads > 1 {
        crate::alloc::spread_over_threads();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                scope.spawn(move || work(&mut items.iter().enumerate().skip(t).step_by(threads)))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| panic!("a {what} panicked")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_on_some_thread() {
        let items: Vec<usize> = (0..103).collect();
        let shares = split(&items, "test", |share| {
            share.map(|(i, item)| (i, *item)).collect::<Vec<_>>()
        });
        let mut seen: Vec<(usize, usize)> = shares.into_iter().flatten().collect();
        seen.sort();
        assert_eq!(seen, items.iter().map(|&i| (i, i)).collect::<Vec<_>>());
        assert_eq!(split(&[] as &[u8], "test", |share| share.count()), [0]);
    }
}
