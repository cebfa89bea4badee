// The shapes the API server puts in a meta.k8s.io/v1 Table.

/** metav1.TableColumnDefinition. */
export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type of the cells: "string", "integer", "boolean", "date"... */
  type: string;
  /** "name" for the column that holds the object's name, else "". */
  format: string;
  description: string;
  /** 0 for the default view; kubectl shows priority > 0 only with `-o wide`. */
  priority: number;
}

/** metav1.TableRowCondition. */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Prints one resource kind: its columns, and one row of cells per object. */
export interface Printer {
  columns: TableColumnDefinition[];
  /** Cells in column order; `now` is the server clock (ms since the epoch) for Age cells. */
  row(obj: any, now: number): unknown[];
  /** The row's `conditions`, where upstream sets them (a finished pod is "Completed"). */
  conditions?(obj: any): TableRowCondition[] | undefined;
}
