#include "agent/collectors/node/node_collectors.h"

namespace lookout {

const std::vector<NodeCollectorRegistration>& NodeCollectorRegistry() {
  static const std::vector<NodeCollectorRegistration> kRegistry = {
      {"cpu", true, "CPU time per mode from /proc/stat (node_cpu_seconds_total)", NewCpuCollector,
       nullptr},
      {"meminfo", true, "memory statistics from /proc/meminfo (node_memory_*)", NewMeminfoCollector,
       nullptr},
      {"loadavg", true, "load averages from /proc/loadavg (node_load1/5/15)", NewLoadavgCollector,
       nullptr},
      {"diskstats", true, "block device I/O from /proc/diskstats (node_disk_*)",
       NewDiskstatsCollector, DiskstatsOptionRows},
      {"filesystem", true, "statfs of mounted filesystems (node_filesystem_*)",
       NewFilesystemCollector, FilesystemOptionRows},
      {"netdev", true, "network interface counters from /proc/net/dev (node_network_*)",
       NewNetdevCollector, NetdevOptionRows},
      {"stat", true, "boot time, context switches, forks, interrupts, procs (/proc/stat)",
       NewStatCollector, nullptr},
      {"vmstat", true, "selected /proc/vmstat fields (node_vmstat_*)", NewVmstatCollector,
       VmstatOptionRows},
      {"pressure", true, "pressure stall information from /proc/pressure (node_pressure_*)",
       NewPressureCollector, nullptr},
      {"uname", true, "kernel and host identity (node_uname_info)", NewUnameCollector, nullptr},
      {"time", true, "system time, time zone and clock sources (node_time_*)", NewTimeCollector,
       nullptr},
      {"filefd", true, "allocated and maximum file handles (node_filefd_*)", NewFilefdCollector,
       nullptr},
      {"sockstat", true, "socket statistics from /proc/net/sockstat{,6} (node_sockstat_*)",
       NewSockstatCollector, nullptr},
      {"netstat", true, "selected /proc/net/{netstat,snmp,snmp6} fields (node_netstat_*)",
       NewNetstatCollector, NetstatOptionRows},
      {"os", true, "os-release information (node_os_info, node_os_version)", NewOsCollector,
       nullptr},
      {"timex", true, "kernel clock discipline state from adjtimex(2) (node_timex_*)",
       NewTimexCollector, nullptr},
      {"conntrack", true,
       "connection tracking table use and statistics (node_nf_conntrack_*); no nf_conntrack "
       "module: no series (and no failure)",
       NewConntrackCollector, nullptr},
      {"netclass", true, "network interface attributes from /sys/class/net (node_network_*)",
       NewNetclassCollector, NetclassOptionRows},
      {"textfile", true, "metrics from *.prom files in a directory (node_textfile_*)",
       NewTextfileCollector, TextfileOptionRows},
      {"mdadm", true,
       "md RAID arrays from /proc/mdstat (node_md_*); no /proc/mdstat: no series (and no "
       "failure)",
       NewMdadmCollector, nullptr},
      {"bonding", true,
       "bonding interfaces and their slaves (node_bonding_*); no bonding driver: no series (and "
       "no failure)",
       NewBondingCollector, nullptr},
      {"arp", true, "ARP table entries by device from /proc/net/arp (node_arp_entries)",
       NewArpCollector, ArpOptionRows},
      {"cpufreq", true,
       "CPU frequencies and their limits from /sys/devices/system/cpu/cpu*/cpufreq "
       "(node_cpu_frequency_*, node_cpu_scaling_frequency_*); no cpufreq: no series (and no "
       "failure)",
       NewCpufreqCollector, nullptr},
      {"entropy", true, "available entropy and pool size (node_entropy_*)", NewEntropyCollector,
       nullptr},
      {"schedstat", true,
       "per-CPU run time, run-queue wait and timeslices from /proc/schedstat (node_schedstat_*); "
       "no /proc/schedstat: no series (and no failure)",
       NewSchedstatCollector, nullptr},
      {"softnet", true, "per-CPU packet processing from /proc/net/softnet_stat (node_softnet_*)",
       NewSoftnetCollector, nullptr},
      {"udp_queues", true,
       "bytes queued on UDP sockets from /proc/net/udp{,6} (node_udp_queues); neither file: no "
       "series (and no failure)",
       NewUdpQueuesCollector, nullptr},
      {"thermal_zone", true,
       "thermal zone temperatures and cooling device states from /sys/class/thermal "
       "(node_thermal_zone_temp, node_cooling_device_*)",
       NewThermalZoneCollector, nullptr},
      {"dmi", true,
       "firmware identity from /sys/class/dmi/id (node_dmi_info); no DMI: no series (and no "
       "failure)",
       NewDmiCollector, nullptr},
      {"edac", true,
       "memory errors counted by the EDAC drivers per controller and csrow "
       "(node_edac_*); no EDAC: no series (and no failure)",
       NewEdacCollector, nullptr},
      {"nvme", true, "NVMe controllers' model, serial, firmware and state (node_nvme_info)",
       NewNvmeCollector, nullptr},
      {"rapl", true,
       "RAPL energy counters from /sys/class/powercap (node_rapl_*_joules_total); no powercap, "
       "or counters readable by root only: no series (and no failure)",
       NewRaplCollector, RaplOptionRows},
      {"hwmon", true,
       "hardware sensors from /sys/class/hwmon: temperatures, voltages, fans, power, current, "
       "energy, humidity, alarms (node_hwmon_*)",
       NewHwmonCollector, nullptr},
      {"powersupplyclass", true,
       "batteries, mains adapters and USB power ports from /sys/class/power_supply "
       "(node_power_supply_*); no power_supply class: no series (and no failure)",
       NewPowerSupplyClassCollector, PowerSupplyClassOptionRows},
      {"tapestats", true,
       "SCSI tape drive I/O statistics from /sys/class/scsi_tape (node_tape_*); no tape "
       "drives: no series (and no failure)",
       NewTapestatsCollector, TapestatsOptionRows},
      {"nfs", true,
       "NFS client RPC statistics from /proc/net/rpc/nfs (node_nfs_*); no NFS client: no series "
       "(and no failure)",
       NewNfsCollector, nullptr},
      {"nfsd", true,
       "NFS server statistics from /proc/net/rpc/nfsd (node_nfsd_*); no NFS server: no series "
       "(and no failure)",
       NewNfsdCollector, nullptr},
      {"xfs", true,
       "XFS per-filesystem counters from /sys/fs/xfs/<device>/stats/stats (node_xfs_*); no XFS: "
       "no series (and no failure)",
       NewXfsCollector, nullptr},
      {"btrfs", true,
       "Btrfs allocation and device sizes from /sys/fs/btrfs/<uuid>, device errors from ioctls "
       "on btrfs mount points (node_btrfs_*); no btrfs: no series (and no failure)",
       NewBtrfsCollector, nullptr},
      {"infiniband", true,
       "InfiniBand ports: state, rate and PMA counters from /sys/class/infiniband "
       "(node_infiniband_*); no InfiniBand: no series (and no failure)",
       NewInfinibandCollector, nullptr},
      {"fibrechannel", true,
       "Fibre Channel host ports: attributes and statistics from /sys/class/fc_host "
       "(node_fibrechannel_*); no Fibre Channel: no series (and no failure)",
       NewFibreChannelCollector, nullptr},
      {"zfs", true,
       "OpenZFS ARC, ZIL, dnode and other kstats, pool states and dataset I/O from "
       "/proc/spl/kstat/zfs (node_zfs_*); no zfs module: no series (and no failure)",
       NewZfsCollector, nullptr},
      {"ipvs", true,
       "IPVS totals and per-real-server connections and weights from /proc/net/ip_vs_stats and "
       "/proc/net/ip_vs (node_ipvs_*); no ip_vs module: no series (and no failure)",
       NewIpvsCollector, IpvsOptionRows},
      {"selinux", true,
       "SELinux enabled, configured and current mode, from the host's selinuxfs and "
       "/etc/selinux/config (node_selinux_*)",
       NewSelinuxCollector, nullptr},
      {"bcache", true,
       "bcache cache sets, backing and cache devices from /sys/fs/bcache (node_bcache_*); no "
       "bcache: no series (and no failure)",
       NewBcacheCollector, BcacheOptionRows},
  };
  return kRegistry;
}

std::vector<std::unique_ptr<Collector>> MakeNodeCollectors(const NodeOptions& cfg) {
  std::vector<std::unique_ptr<Collector>> out;
  for (const auto& entry : NodeCollectorRegistry()) {
    auto it = cfg.enabled.find(entry.name);
    if (it == cfg.enabled.end() || !it->second) continue;
    out.push_back(entry.factory(cfg));
  }
  return out;
}

}  // namespace lookout
