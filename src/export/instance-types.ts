/**
 * What one instance of a common Azure VM size has, for the resources of an exported managed
 * deployment (docs/scale-out.md shows this table). A replica gets one instance's worth, as on
 * Azure: requests and limits both, so Kubernetes schedules it only where that much is free.
 */
export interface InstanceSize {
  cpu: number;
  /** GiB */
  memory: number;
  gpu?: number;
}

export const INSTANCE_SIZES: Readonly<Record<string, InstanceSize>> = {
  Standard_DS1_v2: { cpu: 1, memory: 3.5 },
  Standard_DS2_v2: { cpu: 2, memory: 7 },
  Standard_DS3_v2: { cpu: 4, memory: 14 },
  Standard_DS4_v2: { cpu: 8, memory: 28 },
  Standard_DS5_v2: { cpu: 16, memory: 56 },
  Standard_D2as_v4: { cpu: 2, memory: 8 },
  Standard_D4as_v4: { cpu: 4, memory: 16 },
  Standard_D8as_v4: { cpu: 8, memory: 32 },
  Standard_D16as_v4: { cpu: 16, memory: 64 },
  Standard_D32as_v4: { cpu: 32, memory: 128 },
  Standard_E2s_v3: { cpu: 2, memory: 16 },
  Standard_E4s_v3: { cpu: 4, memory: 32 },
  Standard_E8s_v3: { cpu: 8, memory: 64 },
  Standard_E16s_v3: { cpu: 16, memory: 128 },
  Standard_E32s_v3: { cpu: 32, memory: 256 },
  Standard_F2s_v2: { cpu: 2, memory: 4 },
  Standard_F4s_v2: { cpu: 4, memory: 8 },
  Standard_F8s_v2: { cpu: 8, memory: 16 },
  Standard_F16s_v2: { cpu: 16, memory: 32 },
  Standard_F32s_v2: { cpu: 32, memory: 64 },
  Standard_F48s_v2: { cpu: 48, memory: 96 },
  Standard_F64s_v2: { cpu: 64, memory: 128 },
  Standard_F72s_v2: { cpu: 72, memory: 144 },
  Standard_NC4as_T4_v3: { cpu: 4, memory: 28, gpu: 1 },
  Standard_NC8as_T4_v3: { cpu: 8, memory: 56, gpu: 1 },
  Standard_NC16as_T4_v3: { cpu: 16, memory: 110, gpu: 1 },
  Standard_NC64as_T4_v3: { cpu: 64, memory: 440, gpu: 4 },
  Standard_NC6s_v3: { cpu: 6, memory: 112, gpu: 1 },
  Standard_NC12s_v3: { cpu: 12, memory: 224, gpu: 2 },
  Standard_NC24s_v3: { cpu: 24, memory: 448, gpu: 4 },
  Standard_NC24ads_A100_v4: { cpu: 24, memory: 220, gpu: 1 },
  Standard_NC48ads_A100_v4: { cpu: 48, memory: 440, gpu: 2 },
  Standard_NC96ads_A100_v4: { cpu: 96, memory: 880, gpu: 4 },
  Standard_ND96asr_v4: { cpu: 96, memory: 900, gpu: 8 },
  Standard_ND96amsr_A100_v4: { cpu: 96, memory: 1900, gpu: 8 },
};

/** The size of an instance type, matched without regard to case (Azure accepts any). */
export function instanceSize(instanceType: string): InstanceSize | undefined {
  const wanted = instanceType.toLowerCase();
  const key = Object.keys(INSTANCE_SIZES).find((name) => name.toLowerCase() === wanted);
  return key ? INSTANCE_SIZES[key] : undefined;
}

/** Kubernetes quantities for a size: "4", "14Gi", "3584Mi". */
export function sizeQuantities(size: InstanceSize): Record<string, string> {
  const memory = Number.isInteger(size.memory) ? `${size.memory}Gi` : `${Math.round(size.memory * 1024)}Mi`;
  return { cpu: String(size.cpu), memory, ...(size.gpu ? { 'nvidia.com/gpu': String(size.gpu) } : {}) };
}
